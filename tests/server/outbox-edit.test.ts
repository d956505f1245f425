// Offline edits (PATCH reason / urgency / clinical notes) replayed by the outbox sender
// against the real server and PostgreSQL. A local in-memory PGlite with the real local schema
// queues the writes "offline"; the arrival of synced rows is reproduced by copying the
// server's row (GET) into appointments_synced.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { confirmAccepted } from '../../src/lib/outbox/confirm.js';
import { editAppointmentLocally, reapplyEdit } from '../../src/lib/outbox/edit-writes.js';
import { sendPass, type Transport } from '../../src/lib/outbox/sender.js';
import { bookLocally, changeStatusLocally } from '../../src/lib/outbox/writes.js';
import { ApiClient } from '../setup/server.js';
import { at, booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let local: PGlite;
beforeAll(async () => {
  clinic = await openClinic({ patients: 8 });
  local = await PGlite.create({ extensions: { pg_trgm } });
  await migrateLocal(local);
});
afterAll(async () => {
  await local?.close();
  await clinic?.close();
});
beforeEach(async () => {
  await local.exec('DELETE FROM outbox; DELETE FROM appointments_overlay; DELETE FROM appointments_synced;');
});

function transportOf(client: ApiClient): Transport {
  return async (req) => {
    const res = await client.request(req.method, req.path, req.body, { 'idempotency-key': req.idempotencyKey });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: res.body };
  };
}

/** Stands in for sync: the server's current rows land in the local synced table. */
async function syncFromServer(ids: string[]): Promise<void> {
  for (const id of ids) {
    const a = (await clinic.admin.request('GET', `/api/appointments/${id}`)).body.appointment;
    await local.query(
      `INSERT INTO appointments_synced SELECT * FROM json_populate_record(NULL::appointments_synced, $1::json)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, urgency = EXCLUDED.urgency,
         clinical_notes = EXCLUDED.clinical_notes, version = EXCLUDED.version`,
      [JSON.stringify(a)],
    );
  }
}

/** An appointment of doctor A booked on the server and synced to this device. */
async function serverBooking(patient: number, time: string): Promise<string> {
  const body = booking(clinic.fixture, { patient_id: clinic.fixture.patients[patient], starts_at: at(time) });
  const res = await clinic.receptionist.request('POST', '/api/appointments', body, {
    'idempotency-key': body.id as string,
  });
  expect(res.status).toBe(201);
  await syncFromServer([body.id as string]);
  return body.id as string;
}

async function serverRow(id: string) {
  const { rows } = await clinic.db.pool.query(
    'SELECT status, reason, urgency, clinical_notes, version FROM appointments WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function outbox() {
  return (
    await local.query<{ kind: string; state: string; code: string | null; status: number | null }>(
      `SELECT kind, state, last_error->>'code' AS code, (last_error->>'status')::int AS status FROM outbox ORDER BY seq`,
    )
  ).rows;
}

const clinician = () => clinic.fixture.users.clinicianA.id;

describe('offline edits against the real server', () => {
  it('an offline status change and an edit of the same row are both applied, then confirmed by sync', async () => {
    const id = await serverBooking(0, '08:00');
    await changeStatusLocally(local, clinician(), id, 'confirmed');
    await editAppointmentLocally(local, clinician(), id, { reason: 'Knee pain', clinical_notes: 'Swollen left knee' });
    await sendPass(local, transportOf(clinic.clinicianA));
    expect(await outbox()).toEqual([
      { kind: 'status', state: 'accepted', code: null, status: null },
      { kind: 'update', state: 'accepted', code: null, status: null },
    ]);
    expect(await serverRow(id)).toEqual({
      status: 'confirmed',
      reason: 'Knee pain',
      urgency: 'routine',
      clinical_notes: 'Swollen left knee',
      version: 3,
    });
    await syncFromServer([id]);
    expect(await confirmAccepted(local)).toBe(2);
    expect((await local.query('SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay')).rows).toEqual([]);
    expect(
      (await local.query('SELECT reason, clinical_notes, pending FROM appointments WHERE id = $1', [id])).rows,
    ).toEqual([{ reason: 'Knee pain', clinical_notes: 'Swollen left knee', pending: false }]);
  });

  it('a booking, its check-in and an edit, all made offline, reach the server in order', async () => {
    const id = await bookLocally(local, clinic.fixture.users.receptionist.id, {
      patient_id: clinic.fixture.patients[1]!,
      doctor_id: clinic.fixture.doctorA,
      starts_at: at('09:00'),
      duration_minutes: 30,
    });
    await changeStatusLocally(local, clinic.fixture.users.receptionist.id, id, 'checked_in');
    await editAppointmentLocally(local, clinic.fixture.users.receptionist.id, id, {
      reason: 'Walk-in',
      urgency: 'urgent',
    });
    // Sent on the appointment's day (check-in is for its day): the server's clock reads 08:55.
    clinic.setNow(at('08:55'));
    await sendPass(local, transportOf(clinic.receptionist));
    clinic.setNow(null);
    expect((await outbox()).map((e) => e.state)).toEqual(['accepted', 'accepted', 'accepted']);
    expect(await serverRow(id)).toMatchObject({
      status: 'checked_in',
      reason: 'Walk-in',
      urgency: 'urgent',
      version: 3,
    });
  });

  it("someone else's change in between: 409 version_conflict with the server's row; re-applied, it succeeds", async () => {
    const id = await serverBooking(2, '10:00');
    const key = await editAppointmentLocally(local, clinician(), id, { reason: 'Mine', clinical_notes: 'My notes' });
    // Meanwhile, online, the receptionist changes the reason and confirms the appointment.
    expect(
      (await clinic.receptionist.request('PATCH', `/api/appointments/${id}`, { reason: 'Theirs', version: 1 })).status,
    ).toBe(200);
    expect(
      (await clinic.receptionist.request('POST', `/api/appointments/${id}/status`, { status: 'confirmed' })).status,
    ).toBe(200);

    await sendPass(local, transportOf(clinic.clinicianA));
    const rejected = (
      await local.query<{
        state: string;
        last_error: { status: number; code: string; details: { current: Record<string, unknown> } };
      }>('SELECT state, last_error FROM outbox WHERE id = $1', [key])
    ).rows[0]!;
    expect(rejected.state).toBe('rejected');
    expect(rejected.last_error).toMatchObject({ status: 409, code: 'version_conflict' });
    expect(rejected.last_error.details.current).toMatchObject({ reason: 'Theirs', status: 'confirmed', version: 3 });
    expect(await serverRow(id)).toMatchObject({ reason: 'Theirs', clinical_notes: null });

    await reapplyEdit(local, clinician(), key);
    expect((await local.query('SELECT reason, status, version FROM appointments WHERE id = $1', [id])).rows).toEqual([
      { reason: 'Mine', status: 'confirmed', version: 4 },
    ]);
    await sendPass(local, transportOf(clinic.clinicianA));
    expect(await outbox()).toEqual([{ kind: 'update', state: 'accepted', code: null, status: null }]);
    expect(await serverRow(id)).toEqual({
      status: 'confirmed',
      reason: 'Mine',
      urgency: 'routine',
      clinical_notes: 'My notes',
      version: 4,
    });
    await syncFromServer([id]);
    expect(await confirmAccepted(local)).toBe(1);
  });

  it('a receptionist writing clinical notes is refused (403) and nothing changes on the server', async () => {
    const id = await serverBooking(3, '11:00');
    await editAppointmentLocally(local, clinic.fixture.users.receptionist.id, id, {
      clinical_notes: 'Not mine to write',
    });
    await sendPass(local, transportOf(clinic.receptionist));
    expect(await outbox()).toEqual([{ kind: 'update', state: 'rejected', code: 'forbidden', status: 403 }]);
    expect(await serverRow(id)).toMatchObject({ clinical_notes: null, version: 1 });
  });

  it('dropping the emergency urgency of an out-of-hours appointment is refused (outside_working_hours)', async () => {
    const body = booking(clinic.fixture, {
      patient_id: clinic.fixture.patients[4],
      starts_at: at('19:00'),
      urgency: 'emergency',
    });
    expect(
      (await clinic.admin.request('POST', '/api/appointments', body, { 'idempotency-key': body.id as string })).status,
    ).toBe(201);
    await syncFromServer([body.id as string]);
    await editAppointmentLocally(local, clinician(), body.id as string, { urgency: 'routine' });
    await sendPass(local, transportOf(clinic.clinicianA));
    expect(await outbox()).toEqual([{ kind: 'update', state: 'rejected', code: 'outside_working_hours', status: 422 }]);
  });
});
