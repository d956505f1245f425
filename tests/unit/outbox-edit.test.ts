// Offline edits (reason, urgency, clinical notes) in the real local schema (in-memory
// PGlite): overlay and entry together, refused input writes nothing, the version each PATCH
// carries, confirmation by version, a version conflict and "apply my edit again". The
// network is a scripted transport; tests/server/outbox-edit.test.ts uses the real server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { confirmAccepted, discardEntry } from '../../src/lib/outbox/confirm.js';
import type { OutboxDb } from '../../src/lib/outbox/db.js';
import { EditValidationError, editAppointmentLocally, reapplyEdit } from '../../src/lib/outbox/edit-writes.js';
import { sendPass, type OutboxRequest, type OutboxResponse } from '../../src/lib/outbox/sender.js';
import { bookLocally, changeStatusLocally, LocalWriteError } from '../../src/lib/outbox/writes.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-000000000002';
const data = clinic({ doctors: 2, patients: 10, appointments: 40, now: new Date('2026-11-20T08:00:00Z') });
const synced = data.appointments.map((a) => a.id);
let next = 0;
/** A synced (server-confirmed, version 1) scheduled appointment no other test touched. */
const freshSynced = () => synced[next++]!;

function scripted(answers: ((r: OutboxRequest) => Partial<OutboxResponse>)[]) {
  const requests: OutboxRequest[] = [];
  const transport = async (req: OutboxRequest): Promise<OutboxResponse> => {
    requests.push(req);
    const a = answers.shift();
    if (!a) throw new Error('unexpected request');
    return { status: 200, retryAfter: null, json: null, ...a(req) };
  };
  return { transport, requests };
}
/** The server's answer to a write: the row at `version`. */
const ok = (version: number) => (req: OutboxRequest) => ({
  status: 200,
  json: { appointment: { id: req.path.split('/')[3], version }, txid: 77 },
});

async function row(db: OutboxDb, id: string) {
  const { rows } = await db.query<{
    reason: string | null;
    urgency: string;
    clinical_notes: string | null;
    version: number | null;
    status: string;
    pending: boolean;
  }>('SELECT reason, urgency, clinical_notes, version, status, pending FROM appointments WHERE id = $1', [id]);
  return rows[0]!;
}
async function entries(db: OutboxDb) {
  return (
    await db.query<{
      id: string;
      kind: string;
      state: string;
      method: string;
      path: string;
      body: Record<string, unknown>;
    }>('SELECT id, kind, state, method, path, body FROM outbox ORDER BY seq')
  ).rows;
}
/** What sync does when the server's row changes. */
async function syncVersion(db: OutboxDb, id: string, version: number, fields: Record<string, unknown> = {}) {
  await db.query(
    `UPDATE appointments_synced SET version = $2, reason = coalesce($3, reason), status = coalesce($4, status) WHERE id = $1`,
    [id, version, fields.reason ?? null, fields.status ?? null],
  );
}

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDbWith(data);
  // Every test edits its own row, starting from a scheduled one.
  await db.exec(`UPDATE appointments_synced SET status = 'scheduled', cancelled_at = NULL`);
}, 120_000);
afterAll(() => db.close());
beforeEach(async () => {
  await db.exec('DELETE FROM outbox; DELETE FROM appointments_overlay;');
});

describe('editing an appointment offline', () => {
  it('writes the overlay row and a PATCH entry together, shown at once as pending', async () => {
    const id = freshSynced();
    const key = await editAppointmentLocally(db, USER, id, { reason: 'Follow-up: knee', clinical_notes: 'Swelling' });
    expect(await row(db, id)).toMatchObject({
      reason: 'Follow-up: knee',
      clinical_notes: 'Swelling',
      version: 2,
      pending: true,
    });
    expect(await entries(db)).toEqual([
      {
        id: key,
        kind: 'update',
        state: 'pending',
        method: 'PATCH',
        path: `/api/appointments/${id}`,
        body: { reason: 'Follow-up: knee', clinical_notes: 'Swelling', version: 1 },
      },
    ]);
  });

  it('only the fields given change; null clears one', async () => {
    const id = freshSynced();
    const before = await row(db, id);
    await editAppointmentLocally(db, USER, id, { urgency: 'urgent', reason: null });
    expect(await row(db, id)).toMatchObject({
      urgency: 'urgent',
      reason: null,
      clinical_notes: before.clinical_notes,
      status: before.status,
    });
    expect((await entries(db))[0]!.body).toEqual({ urgency: 'urgent', reason: null, version: 1 });
  });

  it('invalid input or an unknown appointment writes nothing, naming the field', async () => {
    const id = freshSynced();
    const invalid = [
      { urgency: 'whenever' },
      { reason: 'x'.repeat(2001) },
      { clinical_notes: 42 },
      { colour: 'red' },
      {},
    ] as never[];
    const fields: string[][] = [];
    for (const edit of invalid) {
      const err = await editAppointmentLocally(db, USER, id, edit).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EditValidationError);
      fields.push((err as EditValidationError).fields);
    }
    expect(fields).toEqual([['urgency'], ['reason'], ['clinical_notes'], ['colour'], ['edit']]);
    await expect(
      editAppointmentLocally(db, USER, '00000000-0000-4000-8000-00000000dead', { reason: 'x' }),
    ).rejects.toBeInstanceOf(LocalWriteError);
    expect(await entries(db)).toEqual([]);
    expect((await db.query('SELECT 1 FROM appointments_overlay')).rows).toEqual([]);
  });

  it('carries the version the server will have: after a local status change, one more', async () => {
    const id = freshSynced();
    await changeStatusLocally(db, USER, id, 'confirmed');
    expect((await row(db, id)).version).toBe(2);
    await editAppointmentLocally(db, USER, id, { reason: 'first' });
    await editAppointmentLocally(db, USER, id, { reason: 'second' });
    const bodies = (await entries(db)).map((e) => e.body);
    expect(bodies).toEqual([
      { status: 'confirmed' },
      { reason: 'first', version: 2 },
      { reason: 'second', version: 3 },
    ]);
    expect(await row(db, id)).toMatchObject({ status: 'confirmed', reason: 'second', version: 4 });
  });

  it('an edit of a booking still queued depends on it and expects version 1', async () => {
    const start = new Date(Date.UTC(2031, 2, 3, 9)).toISOString();
    const id = await bookLocally(db, USER, {
      patient_id: data.patients[0]!.id,
      doctor_id: data.doctors[0]!.id,
      starts_at: start,
      duration_minutes: 30,
    });
    await editAppointmentLocally(db, USER, id, { reason: 'added later' });
    const { rows } = await db.query<{ depends_on: string | null; body: { version: number } }>(
      `SELECT depends_on, body FROM outbox WHERE kind = 'update'`,
    );
    expect(rows).toEqual([{ depends_on: id, body: { reason: 'added later', version: 1 } }]);
  });

  it('accepted, then confirmed when the synced row reaches the answered version; the overlay goes', async () => {
    const id = freshSynced();
    await editAppointmentLocally(db, USER, id, { reason: 'confirmed edit' });
    const net = scripted([ok(2)]);
    await sendPass(db, net.transport);
    expect((await entries(db))[0]!.state).toBe('accepted');
    // An older synced row (e.g. sync not there yet) does not confirm it.
    expect(await confirmAccepted(db)).toBe(0);
    await syncVersion(db, id, 2, { reason: 'confirmed edit' });
    expect(await confirmAccepted(db)).toBe(1);
    expect(await entries(db)).toEqual([]);
    expect(await row(db, id)).toMatchObject({ reason: 'confirmed edit', version: 2, pending: false });
  });

  it('version_conflict: rejected with the server row; "apply again" re-queues on the current version', async () => {
    const id = freshSynced();
    const key = await editAppointmentLocally(db, USER, id, { reason: 'mine', urgency: 'urgent' });
    const serverRow = {
      ...(await row(db, id)),
      id,
      reason: 'theirs',
      urgency: 'routine',
      status: 'checked_in',
      version: 3,
    };
    const net = scripted([
      () => ({
        status: 409,
        json: { error: { code: 'version_conflict', message: 'changed', details: { current: serverRow } } },
      }),
      ok(4),
    ]);
    await sendPass(db, net.transport);
    const rejected = (
      await db.query<{ state: string; last_error: { code: string; details: { current: { version: number } } } }>(
        'SELECT state, last_error FROM outbox WHERE id = $1',
        [key],
      )
    ).rows[0]!;
    expect(rejected).toMatchObject({ state: 'rejected', last_error: { code: 'version_conflict' } });
    expect(rejected.last_error.details.current.version).toBe(3);
    // The rejected edit stays visible on the row until the user decides.
    expect(await row(db, id)).toMatchObject({ reason: 'mine', pending: true });

    const again = await reapplyEdit(db, USER, key);
    expect(await entries(db)).toEqual([
      expect.objectContaining({ id: again, state: 'pending', body: { reason: 'mine', urgency: 'urgent', version: 3 } }),
    ]);
    // The server's other changes show, with my edit on top.
    expect(await row(db, id)).toMatchObject({ reason: 'mine', urgency: 'urgent', status: 'checked_in', version: 4 });
    await sendPass(db, net.transport);
    expect(net.requests.map((r) => r.body)).toEqual([
      { reason: 'mine', urgency: 'urgent', version: 1 },
      { reason: 'mine', urgency: 'urgent', version: 3 },
    ]);
    expect((await entries(db))[0]!.state).toBe('accepted');
  });

  it('re-apply counts changes still queued for the row; discard drops the edit and its overlay', async () => {
    const id = freshSynced();
    const key = await editAppointmentLocally(db, USER, id, { reason: 'mine' });
    const conflict = {
      status: 409,
      json: { error: { code: 'version_conflict', message: 'changed', details: { current: { id, version: 5 } } } },
    };
    await sendPass(db, scripted([() => conflict]).transport);
    await changeStatusLocally(db, USER, id, 'confirmed');
    await reapplyEdit(db, USER, key);
    // The status change goes first and bumps the server to 6; the edit expects 6.
    expect((await entries(db)).map((e) => e.body)).toEqual([{ status: 'confirmed' }, { reason: 'mine', version: 6 }]);

    await db.exec('DELETE FROM outbox');
    const other = freshSynced();
    const refused = await editAppointmentLocally(db, USER, other, { reason: 'not wanted' });
    await sendPass(db, scripted([() => conflict]).transport);
    await expect(reapplyEdit(db, USER, '00000000-0000-4000-8000-000000000bad')).rejects.toBeInstanceOf(LocalWriteError);
    await discardEntry(db, refused);
    expect(await entries(db)).toEqual([]);
    expect(await row(db, other)).toMatchObject({ pending: false, version: 1 });
  });

  it('a refusal other than a version conflict cannot be re-applied', async () => {
    const id = freshSynced();
    const key = await editAppointmentLocally(db, USER, id, { clinical_notes: 'not mine to write' });
    await sendPass(
      db,
      scripted([() => ({ status: 403, json: { error: { code: 'forbidden', message: 'Only clinicians' } } })]).transport,
    );
    await expect(reapplyEdit(db, USER, key)).rejects.toThrow(/version conflict/);
    expect((await entries(db))[0]!.state).toBe('rejected');
  });
});
