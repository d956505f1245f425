// The outbox in the real local schema (in-memory PGlite): one transaction per write, every
// state transition, ordering and dependency rules, confirmation by sync, discard, local
// conflict pre-check and a schema upgrade with pending entries. The network side is a
// scripted transport here; tests/server/outbox-sender.test.ts uses the real server.
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LOCAL_MIGRATIONS } from '../../src/lib/db/schema/migrations.js';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { confirmAccepted, discardEntry } from '../../src/lib/outbox/confirm.js';
import type { OutboxDb } from '../../src/lib/outbox/db.js';
import { recoverInDoubt, sendPass, type OutboxRequest, type OutboxResponse } from '../../src/lib/outbox/sender.js';
import {
  bookLocally,
  changeStatusLocally,
  LocalConflictError,
  LocalWriteError,
  rescheduleLocally,
} from '../../src/lib/outbox/writes.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-000000000001';
const data = clinic({ doctors: 2, patients: 20, appointments: 40, now: new Date('2026-11-20T08:00:00Z') });
const doctor = data.doctors[0]!.id;
const patients = data.patients.map((p) => p.id);
let slot = 0;
/** A fresh, free instant far from the generated appointments. */
function freeStart(): string {
  return new Date(Date.UTC(2031, 0, 6, 8) + 30 * 60_000 * slot++).toISOString();
}

/** A scripted network: answers in order; `null` = no answer (network error). */
function scripted(answers: (Partial<OutboxResponse> | null | ((r: OutboxRequest) => Partial<OutboxResponse>))[]) {
  const requests: OutboxRequest[] = [];
  const transport = async (req: OutboxRequest): Promise<OutboxResponse> => {
    requests.push(req);
    const a = answers.shift();
    if (a === undefined) throw new Error('unexpected request');
    if (a === null) throw new TypeError('Failed to fetch');
    const r = typeof a === 'function' ? a(req) : a;
    return { status: 200, retryAfter: null, json: null, ...r };
  };
  return { transport, requests };
}

function ok(req: OutboxRequest, version = 1): Partial<OutboxResponse> {
  const id =
    (req.body as { id?: string; new_id?: string }).id ??
    (req.body as { new_id?: string }).new_id ??
    req.path.split('/')[3];
  return { status: 200, json: { appointment: { id, version }, txid: 1234 } };
}

async function states(db: OutboxDb): Promise<Record<string, string>> {
  const { rows } = await db.query<{ id: string; state: string }>('SELECT id, state FROM outbox ORDER BY seq');
  return Object.fromEntries(rows.map((r) => [r.id, r.state]));
}

/** What sync would do: the server's row lands in appointments_synced. */
async function syncRow(db: OutboxDb, id: string, version: number, status = 'scheduled'): Promise<void> {
  await db.query(
    `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
     SELECT id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, $3, urgency, $2 FROM appointments_overlay WHERE id = $1
     ON CONFLICT (id) DO UPDATE SET version = $2, status = $3`,
    [id, version, status],
  );
}

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDbWith(data);
}, 120_000);
afterAll(() => db.close());
// One database for the file (a fresh one per test costs seconds); each test starts with no
// local writes and none of its synced rows (all tests book in 2031, away from the seed).
beforeEach(async () => {
  await db.exec(
    `DELETE FROM outbox; DELETE FROM appointments_overlay; DELETE FROM appointments_synced WHERE starts_at >= '2031-01-01'`,
  );
});

const book = (patient = patients[0]!, start = freeStart()) =>
  bookLocally(db, USER, { patient_id: patient, doctor_id: doctor, starts_at: start, duration_minutes: 30 });

describe('local write path', () => {
  it('writes the overlay row and the outbox entry together, shown at once as pending', async () => {
    const id = await book();
    const { rows } = await db.query<{ pending: boolean; status: string }>(
      'SELECT pending, status FROM appointments WHERE id = $1',
      [id],
    );
    expect(rows).toEqual([{ pending: true, status: 'scheduled' }]);
    const entry = (await db.query<Record<string, unknown>>('SELECT * FROM outbox')).rows[0]!;
    expect(entry).toMatchObject({
      id,
      kind: 'book',
      state: 'pending',
      user_id: USER,
      schema_version: LOCAL_MIGRATIONS.at(-1)!.version,
      method: 'POST',
      path: '/api/appointments',
    });
  });

  it('a refused local action writes neither overlay nor outbox', async () => {
    const id = await book();
    await expect(changeStatusLocally(db, USER, id, 'completed')).rejects.toBeInstanceOf(LocalWriteError);
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox');
    expect(rows[0]!.n).toBe(1);
    expect(
      (await db.query<{ status: string }>('SELECT status FROM appointments WHERE id = $1', [id])).rows[0]!.status,
    ).toBe('scheduled');
  });

  it('warns about an overlapping appointment in the replica unless forced', async () => {
    const start = freeStart();
    await book(patients[0], start);
    const err = await book(patients[1], start).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalConflictError);
    expect((err as LocalConflictError).conflicts[0]!.same_doctor).toBe(true);
    await bookLocally(
      db,
      USER,
      { patient_id: patients[1]!, doctor_id: doctor, starts_at: start, duration_minutes: 30 },
      { force: true },
    );
    expect((await db.query('SELECT 1 FROM outbox')).rows).toHaveLength(2);
  });

  it('a reschedule hides the old row behind a "rescheduled" overlay and adds the new one', async () => {
    const id = await book();
    const newId = await rescheduleLocally(db, USER, id, { starts_at: freeStart() });
    const { rows } = await db.query<{ id: string; status: string; rescheduled_from: string | null }>(
      'SELECT id, status, rescheduled_from FROM appointments WHERE id = ANY($1::uuid[]) ORDER BY status',
      [[id, newId]],
    );
    expect(rows).toEqual([
      { id, status: 'rescheduled', rescheduled_from: null },
      { id: newId, status: 'scheduled', rescheduled_from: id },
    ]);
    const dep = await db.query<{ depends_on: string }>('SELECT depends_on FROM outbox WHERE id = $1', [newId]);
    expect(dep.rows[0]!.depends_on).toBe(id);
  });
});

describe('sender state machine', () => {
  it('pending -> sending -> accepted -> confirmed when the synced row arrives; overlay dropped', async () => {
    const id = await book();
    const net = scripted([(r) => ok(r)]);
    const pass = await sendPass(db, net.transport);
    expect(pass).toEqual({ sent: 1, paused: null, nextAttemptAt: null });
    expect(net.requests[0]).toMatchObject({ method: 'POST', path: '/api/appointments', idempotencyKey: id });
    expect(await states(db)).toEqual({ [id]: 'accepted' });
    expect(await confirmAccepted(db)).toBe(0); // not synced yet: still shown from the overlay
    await syncRow(db, id, 1);
    expect(await confirmAccepted(db)).toBe(1);
    expect(await states(db)).toEqual({});
    const row = await db.query<{ pending: boolean }>('SELECT pending FROM appointments WHERE id = $1', [id]);
    expect(row.rows).toEqual([{ pending: false }]);
  });

  it('accepted waits for the answered version, not an older synced one', async () => {
    const id = await book();
    await sendPass(db, scripted([(r) => ok(r)]).transport);
    await syncRow(db, id, 1);
    await confirmAccepted(db);
    await changeStatusLocally(db, USER, id, 'checked_in');
    await sendPass(db, scripted([(r) => ok(r, 2)]).transport);
    expect(await confirmAccepted(db)).toBe(0);
    expect(
      (await db.query<{ status: string }>('SELECT status FROM appointments WHERE id = $1', [id])).rows[0]!.status,
    ).toBe('checked_in');
    await syncRow(db, id, 2, 'checked_in');
    expect(await confirmAccepted(db)).toBe(1);
  });

  it('4xx -> rejected with the server error, kept visible; the entries behind it still go', async () => {
    const a = await book(patients[0]);
    const b = await book(patients[1]);
    const details = {
      conflicts: [],
      suggestions: [{ starts_at: '2031-01-06T10:00:00.000Z', ends_at: '2031-01-06T10:30:00.000Z' }],
    };
    const net = scripted([
      { status: 409, json: { error: { code: 'slot_conflict', message: 'Slot taken', details } } },
      (r) => ok(r),
    ]);
    await sendPass(db, net.transport);
    expect(await states(db)).toEqual({ [a]: 'rejected', [b]: 'accepted' });
    const err = await db.query<{ last_error: unknown }>('SELECT last_error FROM outbox WHERE id = $1', [a]);
    expect(err.rows[0]!.last_error).toEqual({ status: 409, code: 'slot_conflict', message: 'Slot taken', details });
    expect((await db.query('SELECT 1 FROM appointments WHERE id = $1', [a])).rows).toHaveLength(1);
  });

  it('a status change on a rejected booking is rejected with it, without a request', async () => {
    const a = await book();
    await changeStatusLocally(db, USER, a, 'checked_in');
    const net = scripted([{ status: 422, json: { error: { code: 'validation_failed', message: 'bad' } } }]);
    await sendPass(db, net.transport);
    expect(net.requests).toHaveLength(1);
    const rows = (
      await db.query<{ kind: string; state: string; last_error: { code: string } }>(
        'SELECT kind, state, last_error FROM outbox ORDER BY seq',
      )
    ).rows;
    expect(rows.map((r) => [r.kind, r.state, r.last_error.code])).toEqual([
      ['book', 'rejected', 'validation_failed'],
      ['status', 'rejected', 'dependency_rejected'],
    ]);
    await discardEntry(db, a);
    expect(await states(db)).toEqual({});
    expect((await db.query('SELECT 1 FROM appointments WHERE id = $1', [a])).rows).toHaveLength(0);
  });

  it.each([
    [null, 1, 500],
    [{ status: 503 }, 1, 500],
    [{ status: 408 }, 1, 500],
    [{ status: 500 }, 1, 500],
    // The server said when to come back (database restarting, rate limit): a wait, not a failure.
    [{ status: 503, retryAfter: '20' }, 0, 20_000],
    [{ status: 429, retryAfter: '7' }, 0, 7_000],
  ])('retry %j -> pending, %i attempt(s) counted, due after %i ms; keeps order', async (answer, attempts, delay) => {
    const a = await book(patients[0]);
    await book(patients[1]);
    const t0 = Date.parse('2031-01-01T00:00:00Z');
    const net = scripted([answer]);
    const pass = await sendPass(db, net.transport, { now: () => t0, random: () => 0 });
    expect(net.requests).toHaveLength(1);
    expect(pass.nextAttemptAt).toBe(t0 + delay);
    const row = (
      await db.query<{ state: string; attempts: number; next_attempt_at: Date }>(
        'SELECT state, attempts, next_attempt_at FROM outbox WHERE id = $1',
        [a],
      )
    ).rows[0]!;
    expect(row).toMatchObject({ state: 'pending', attempts });
    // not due yet: no request at all
    const idle = scripted([]);
    expect((await sendPass(db, idle.transport, { now: () => t0 + 100 })).sent).toBe(0);
    // due: sent again with the same key, then the next one
    const later = scripted([(r) => ok(r), (r) => ok(r)]);
    await sendPass(db, later.transport, { now: () => t0 + 200_000 });
    expect(later.requests.map((r) => r.idempotencyKey)[0]).toBe(a);
    expect(Object.values(await states(db))).toEqual(['accepted', 'accepted']);
  });

  it('a database outage (503 + Retry-After) never grows the backoff, however long it lasts', async () => {
    const a = await book(patients[0]);
    let t = Date.parse('2031-01-01T00:00:00Z');
    for (let i = 0; i < 8; i++) {
      const net = scripted([{ status: 503, retryAfter: '5', json: { error: { code: 'database_unavailable' } } }]);
      const pass = await sendPass(db, net.transport, { now: () => t, random: () => 0 });
      expect(pass.nextAttemptAt).toBe(t + 5_000);
      t = pass.nextAttemptAt!;
    }
    const row = (await db.query<{ attempts: number }>('SELECT attempts FROM outbox WHERE id = $1', [a])).rows[0]!;
    expect(row.attempts).toBe(0);
  });

  it('401 pauses the sender and keeps the entry pending', async () => {
    const a = await book();
    const net = scripted([{ status: 401, json: { error: { code: 'unauthenticated', message: 'Log in' } } }]);
    const pass = await sendPass(db, net.transport);
    expect(pass.paused).toBe('auth');
    expect(await states(db)).toEqual({ [a]: 'pending' });
  });

  it('an entry left "sending" by a closed tab is sent again with the same key', async () => {
    const a = await book();
    await db.query(`UPDATE outbox SET state = 'sending', attempts = 1`);
    const idle = scripted([]);
    expect((await sendPass(db, idle.transport)).sent).toBe(0);
    expect(await recoverInDoubt(db)).toBe(1);
    const net = scripted([(r) => ok(r)]);
    await sendPass(db, net.transport);
    expect(net.requests.map((r) => r.idempotencyKey)).toEqual([a]);
    expect(await states(db)).toEqual({ [a]: 'accepted' });
  });

  it('sends mixed writes in the order they were made, per row and per doctor', async () => {
    const ids = [await book(patients[0]), await book(patients[1]), await book(patients[2])];
    await changeStatusLocally(db, USER, ids[0]!, 'confirmed');
    await changeStatusLocally(db, USER, ids[1]!, 'cancelled', 'ill');
    await rescheduleLocally(db, USER, ids[2]!, { starts_at: freeStart() });
    const net = scripted(Array.from({ length: 6 }, () => (r: OutboxRequest) => ok(r)));
    await sendPass(db, net.transport);
    const sent = net.requests.map((r) => r.path.replace(/[0-9a-f-]{36}/g, ':id') + ' ' + rowOf(r));
    // One doctor: the bookings, the cancel and the move (which take or free its slots) keep
    // queue order; the confirmation of the first booking may go as soon as that booking is in.
    expect(sent.filter((r) => !r.includes('/status'))).toEqual([
      `/api/appointments ${ids[0]}`,
      `/api/appointments ${ids[1]}`,
      `/api/appointments ${ids[2]}`,
      `/api/appointments/:id/cancel ${ids[1]}`,
      `/api/appointments/:id/reschedule ${ids[2]}`,
    ]);
    expect(sent.indexOf(`/api/appointments/:id/status ${ids[0]}`)).toBeGreaterThan(0);
    expect(net.requests.find((r) => r.path.endsWith('/cancel'))!.body).toEqual({ reason: 'ill' });
    expect(Object.values(await states(db))).toEqual(Array(6).fill('accepted'));
  });
});

/** The appointment a request is about (a booking's id, or the one in its path). */
function rowOf(r: OutboxRequest): string {
  return (r.body as { id?: string }).id ?? r.path.split('/')[3]!;
}

/** A network that answers only when the test says so: shows which requests are in flight together. */
function gated() {
  const requests: OutboxRequest[] = [];
  const open: { req: OutboxRequest; answer: (res: OutboxResponse) => void }[] = [];
  const transport = (req: OutboxRequest) =>
    new Promise<OutboxResponse>((resolve) => {
      requests.push(req);
      open.push({ req, answer: resolve });
    });
  /** Answers the open request about `row` (default: accepted). */
  const answer = (row: string, res: Partial<OutboxResponse> = {}) => {
    const i = open.findIndex((o) => rowOf(o.req) === row);
    if (i < 0) throw new Error(`no open request about ${row}`);
    const [o] = open.splice(i, 1);
    o!.answer({ status: 200, retryAfter: null, json: null, ...ok(o!.req), ...res });
  };
  const inFlight = () => open.map((o) => rowOf(o.req)).sort();
  return { transport, requests, answer, inFlight };
}

describe('independent entries in flight together', () => {
  const otherDoctor = data.doctors[1]!.id;
  const bookWith = (doctorId: string, patient: string) =>
    bookLocally(db, USER, { patient_id: patient, doctor_id: doctorId, starts_at: freeStart(), duration_minutes: 30 });

  it('other doctors and patients go together; a same-doctor booking and a dependent step wait their turn', async () => {
    const a1 = await bookWith(doctor, patients[0]!);
    const b1 = await bookWith(otherDoctor, patients[1]!);
    await changeStatusLocally(db, USER, a1, 'confirmed');
    const a2 = await bookWith(doctor, patients[2]!);
    const net = gated();
    const pass = sendPass(db, net.transport);
    await vi.waitFor(() => expect(net.inFlight()).toEqual([a1, b1].sort()));
    // Both answered in queue order per doctor: a2 (same doctor) and a1's confirmation wait for a1.
    net.answer(b1);
    await new Promise((r) => setTimeout(r, 50));
    expect(net.inFlight()).toEqual([a1]);
    net.answer(a1);
    await vi.waitFor(() => expect(net.inFlight()).toEqual([a1, a2].sort()));
    expect(net.requests.filter((r) => rowOf(r) === a1).map((r) => r.path.endsWith('/status'))).toEqual([false, true]);
    net.answer(a1, { json: { appointment: { id: a1, version: 2 }, txid: 1 } });
    net.answer(a2);
    expect((await pass).sent).toBe(4);
    expect(Object.values(await states(db))).toEqual(Array(4).fill('accepted'));
  });

  it('a rejected booking takes its dependent step with it while an unrelated one is accepted', async () => {
    const a1 = await bookWith(doctor, patients[0]!);
    const b1 = await bookWith(otherDoctor, patients[1]!);
    await changeStatusLocally(db, USER, a1, 'confirmed');
    const net = gated();
    const pass = sendPass(db, net.transport);
    await vi.waitFor(() => expect(net.inFlight()).toEqual([a1, b1].sort()));
    net.answer(a1, { status: 409, json: { error: { code: 'slot_conflict', message: 'Slot taken' } } });
    net.answer(b1);
    await pass;
    expect(net.requests).toHaveLength(2);
    const rows = (
      await db.query<{ kind: string; state: string; code: string | null }>(
        `SELECT kind, state, last_error->>'code' AS code FROM outbox ORDER BY seq`,
      )
    ).rows;
    expect(rows).toEqual([
      { kind: 'book', state: 'rejected', code: 'slot_conflict' },
      { kind: 'book', state: 'accepted', code: null },
      { kind: 'status', state: 'rejected', code: 'dependency_rejected' },
    ]);
  });

  it('at most `window` requests in flight; a retry holds what has not left yet', async () => {
    // Six synced appointments (as sync would bring them), each confirmed offline.
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
       SELECT gen_random_uuid(), $1, $2, t, t + interval '30 minutes', 30, 'scheduled', 'routine', 1
         FROM unnest($3::timestamptz[]) AS t RETURNING id`,
      [patients[0], doctor, Array.from({ length: 6 }, () => freeStart())],
    );
    for (const r of rows) await changeStatusLocally(db, USER, r.id, 'confirmed');
    const ids = rows.map((r) => r.id);
    const net = gated();
    const t0 = Date.parse('2031-01-01T00:00:00Z');
    const pass = sendPass(db, net.transport, { window: 4, now: () => t0, random: () => 0 });
    await vi.waitFor(() => expect(net.inFlight()).toEqual(ids.slice(0, 4).sort()));
    net.answer(ids[0]!, ok(net.requests[0]!, 2));
    await vi.waitFor(() => expect(net.inFlight()).toEqual(ids.slice(1, 5).sort()));
    // No answer for the second: it waits out a backoff and the sixth does not leave.
    net.answer(ids[1]!, { status: 503 });
    for (const id of ids.slice(2, 5))
      net.answer(
        id,
        ok(
          net.requests.find((r) => rowOf(r) === id)!,
          2,
        ),
      );
    const result = await pass;
    expect(result).toEqual({ sent: 5, paused: null, nextAttemptAt: t0 + 500 });
    expect(Object.values(await states(db))).toEqual([
      'accepted',
      'pending',
      'accepted',
      'accepted',
      'accepted',
      'pending',
    ]);
  });
});

describe('answers that arrive together', () => {
  it('are recorded with one statement, each with the synced row and version that confirm it', async () => {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
       SELECT gen_random_uuid(), $1, $2, t, t + interval '30 minutes', 30, 'scheduled', 'routine', 1
         FROM unnest($3::timestamptz[]) AS t RETURNING id`,
      [patients[0], doctor, Array.from({ length: 4 }, () => freeStart())],
    );
    for (const r of rows) await changeStatusLocally(db, USER, r.id, 'confirmed');
    const ids = rows.map((r) => r.id);
    // The pass's statements, as the database worker would receive them.
    const statements: string[] = [];
    const counted: OutboxDb = {
      query: (sql: string, params?: unknown[]) => {
        statements.push(sql);
        return db.query(sql, params);
      },
      transaction: (fn) => db.transaction(fn),
    } as OutboxDb;
    const net = gated();
    const pass = sendPass(counted, net.transport, { window: 4 });
    await vi.waitFor(() => expect(net.inFlight()).toEqual([...ids].sort()));
    const beforeAnswers = statements.length;
    ids.forEach((id, i) => net.answer(id, { json: { appointment: { id, version: 2 }, txid: 100 + i } }));
    expect((await pass).sent).toBe(4);
    // One write to the outbox for the four answers (it was one per answer).
    expect(statements.slice(beforeAnswers).filter((q) => /UPDATE outbox/.test(q))).toHaveLength(1);
    const recorded = await db.query<{ confirm_id: string; confirm_version: number; txid: string; state: string }>(
      `SELECT confirm_id, confirm_version, txid::text, state FROM outbox ORDER BY seq`,
    );
    expect(recorded.rows).toEqual(
      ids.map((id, i) => ({ confirm_id: id, confirm_version: 2, txid: String(100 + i), state: 'accepted' })),
    );
  });
});

describe('local schema upgrade with pending entries', () => {
  it('keeps pending entries through a later migration and can still send them', async () => {
    const a = await book();
    await changeStatusLocally(db, USER, a, 'confirmed');
    const next = {
      version: LOCAL_MIGRATIONS.at(-1)!.version + 1,
      name: 'future',
      sql: 'ALTER TABLE outbox ADD COLUMN note text; ALTER TABLE appointments_overlay ADD COLUMN room text;',
    };
    expect(await migrateLocal(db, [...LOCAL_MIGRATIONS, next])).toEqual([next.version]);
    expect(Object.values(await states(db))).toEqual(['pending', 'pending']);
    const net = scripted([(r) => ok(r), (r) => ok(r, 2)]);
    await sendPass(db, net.transport);
    expect(Object.values(await states(db))).toEqual(['accepted', 'accepted']);
  });

  it('an installed v1 database upgrades to the outbox and keeps its rows', async () => {
    const old = await createLocalDbAt(1);
    await old.query(
      `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency) VALUES (gen_random_uuid(), $1, $2, now(), now() + interval '30 min', 30, 'scheduled', 'routine')`,
      [patients[0], doctor],
    );
    expect(await migrateLocal(old)).toEqual(LOCAL_MIGRATIONS.filter((m) => m.version > 1).map((m) => m.version));
    // a row created offline before overlay versions existed starts at the server's first version
    expect((await old.query('SELECT version FROM appointments_overlay')).rows).toEqual([{ version: 1 }]);
    expect((await old.query('SELECT 1 FROM outbox')).rows).toHaveLength(0);
    await old.close();
  }, 120_000);
});

async function createLocalDbAt(version: number) {
  const { PGlite } = await import('@electric-sql/pglite');
  const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
  const fresh = await PGlite.create({ extensions: { pg_trgm } });
  await migrateLocal(
    fresh,
    LOCAL_MIGRATIONS.filter((m) => m.version <= version),
  );
  return fresh;
}
