// Patient create and edit through the outbox against the real server and PostgreSQL: a local
// in-memory PGlite with the real local schema queues the writes "offline" and replays them.
// The arrival of a synced row is reproduced by copying the server's row into patients_synced.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { confirmAccepted } from '../../src/lib/outbox/confirm.js';
import { createPatientLocally, updatePatientLocally } from '../../src/lib/outbox/patient-writes.js';
import { sendPass, type Transport } from '../../src/lib/outbox/sender.js';
import { bookLocally } from '../../src/lib/outbox/writes.js';
import type { ApiClient } from '../setup/server.js';
import { at, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let local: PGlite;
beforeAll(async () => {
  clinic = await openClinic({ patients: 3 });
  local = await PGlite.create({ extensions: { pg_trgm } });
  await migrateLocal(local);
});
afterAll(async () => {
  await local?.close();
  await clinic?.close();
});
beforeEach(async () => {
  await local.exec(`DELETE FROM outbox; DELETE FROM patients_overlay; DELETE FROM appointments_overlay;
    DELETE FROM patients_synced; DELETE FROM appointments_synced;`);
});

function transportOf(client: ApiClient): Transport {
  return async (req) => {
    const res = await client.request(req.method, req.path, req.body, { 'idempotency-key': req.idempotencyKey });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), json: res.body };
  };
}

/** Applied by the server, but the answer never arrives. */
function losingAnswers(api: Transport): Transport {
  return async (req) => {
    await api(req);
    throw new TypeError('network connection lost');
  };
}

/** Stands in for sync: the server's row (full timestamp precision, as sync has it). */
async function syncPatientFromServer(id: string): Promise<void> {
  const { rows } = await clinic.db.pool.query(
    `SELECT id, full_name, date_of_birth::text, mrn, phone, email, created_at::text, updated_at::text
       FROM patients WHERE id = $1`,
    [id],
  );
  const p = rows[0];
  await local.query(
    `INSERT INTO patients_synced (id, full_name, date_of_birth, mrn, phone, email, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET full_name = $2, mrn = $4, phone = $5, email = $6, updated_at = $8`,
    [p.id, p.full_name, p.date_of_birth, p.mrn, p.phone, p.email, p.created_at, p.updated_at],
  );
}

async function states(): Promise<{ kind: string; state: string; code: string | null }[]> {
  return (
    await local.query<{ kind: string; state: string; code: string | null }>(
      `SELECT kind, state, last_error->>'code' AS code FROM outbox ORDER BY seq`,
    )
  ).rows;
}

const userId = () => clinic.fixture.users.receptionist.id;
const count = async (sql: string, params: unknown[]) =>
  (await clinic.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0]!.n;

describe('patient writes through the outbox against the real server', () => {
  it('create, edit and a booking of the new patient go in order, once each, and are confirmed by sync', async () => {
    const id = await createPatientLocally(local, userId(), {
      full_name: 'Grace Offline',
      date_of_birth: '1985-02-03',
      phone: '555-0200',
    });
    await updatePatientLocally(local, userId(), id, { phone: '555-0201', email: 'grace@example.org' });
    const booking = await bookLocally(local, userId(), {
      patient_id: id,
      doctor_id: clinic.fixture.doctorA,
      starts_at: at('09:00'),
      duration_minutes: 30,
    });
    const api = transportOf(clinic.receptionist);
    const sent: string[] = [];
    // The first request (the create) is applied but its answer is lost: the retry is a replay.
    let first = true;
    await sendPass(local, (req) => {
      sent.push(`${req.method} ${req.path.replace(id, ':id')}`);
      if (first) return ((first = false), losingAnswers(api)(req));
      return api(req);
    });
    await local.query('UPDATE outbox SET next_attempt_at = now()');
    await sendPass(local, (req) => (sent.push(`${req.method} ${req.path.replace(id, ':id')}`), api(req)));
    expect(sent).toEqual([
      'POST /api/patients',
      'POST /api/patients',
      'PATCH /api/patients/:id',
      'POST /api/appointments',
    ]);
    expect((await states()).map((s) => s.state)).toEqual(['accepted', 'accepted', 'accepted']);

    const server = await clinic.db.pool.query('SELECT full_name, phone, email, mrn FROM patients WHERE id = $1', [id]);
    expect(server.rows).toEqual([
      {
        full_name: 'Grace Offline',
        phone: '555-0201',
        email: 'grace@example.org',
        mrn: expect.stringMatching(/^MRN-/),
      },
    ]);
    expect(await count(`audit_log WHERE action = 'patient.create' AND entity_id = $1`, [id])).toBe(1);
    expect(await count(`appointments WHERE patient_id = $1`, [id])).toBe(1);
    expect(await count(`appointments WHERE id = $1`, [booking])).toBe(1);

    // Sync brings the patient: both patient entries go; the booking waits for its own row.
    await syncPatientFromServer(id);
    expect(await confirmAccepted(local)).toBe(2);
    expect((await states()).map((s) => s.kind)).toEqual(['book']);
    const row = await local.query('SELECT phone, mrn, pending FROM patients WHERE id = $1', [id]);
    expect(row.rows).toEqual([{ phone: '555-0201', mrn: server.rows[0].mrn, pending: false }]);
    expect((await local.query('SELECT 1 FROM patients_overlay')).rows).toEqual([]);
  });

  it('an edit whose answer was lost is applied once', async () => {
    const patient = clinic.fixture.patients[0]!;
    await syncPatientFromServer(patient);
    await updatePatientLocally(local, userId(), patient, { phone: '555-0300' });
    const api = transportOf(clinic.receptionist);
    await sendPass(local, losingAnswers(api));
    expect((await states())[0]!.state).toBe('pending');
    await local.query('UPDATE outbox SET next_attempt_at = now()');
    await sendPass(local, api);
    expect((await states())[0]!.state).toBe('accepted');
    expect(await count(`audit_log WHERE action = 'patient.update' AND entity_id = $1`, [patient])).toBe(1);
    await syncPatientFromServer(patient);
    expect(await confirmAccepted(local)).toBe(1);
    expect((await local.query('SELECT phone, pending FROM patients WHERE id = $1', [patient])).rows).toEqual([
      { phone: '555-0300', pending: false },
    ]);
  });

  it('MRN taken on the server: the create is rejected with its error, the booking with it, nothing written', async () => {
    // Another device took this MRN since this one last synced (the replica does not know it).
    const takenMrn = (
      await clinic.db.pool.query('SELECT mrn FROM patients WHERE id = $1', [clinic.fixture.patients[1]])
    ).rows[0].mrn;
    const id = await createPatientLocally(local, userId(), {
      full_name: 'Dup Mrn',
      date_of_birth: '1970-01-01',
      mrn: takenMrn,
    });
    const booking = await bookLocally(local, userId(), {
      patient_id: id,
      doctor_id: clinic.fixture.doctorA,
      starts_at: at('10:00'),
      duration_minutes: 30,
    });
    const sent: string[] = [];
    const api = transportOf(clinic.receptionist);
    await sendPass(local, (req) => (sent.push(req.path), api(req)));
    expect(sent).toEqual(['/api/patients']);
    expect(await states()).toEqual([
      { kind: 'patient_create', state: 'rejected', code: 'mrn_taken' },
      { kind: 'book', state: 'rejected', code: 'dependency_rejected' },
    ]);
    const err = await local.query<{ e: unknown }>('SELECT last_error AS e FROM outbox WHERE id = $1', [id]);
    expect(err.rows[0]!.e).toMatchObject({ status: 409, code: 'mrn_taken', message: expect.stringContaining('MRN') });
    expect(await count('patients WHERE id = $1', [id])).toBe(0);
    expect(await count('appointments WHERE id = $1', [booking])).toBe(0);
    // Still shown on this device (pending) until the user discards it.
    expect((await local.query('SELECT pending FROM patients WHERE id = $1', [id])).rows).toEqual([{ pending: true }]);
  });

  it('a clinician device cannot create patients: rejected as forbidden', async () => {
    await createPatientLocally(local, clinic.fixture.users.clinicianA.id, {
      full_name: 'Not Allowed',
      date_of_birth: '1970-01-01',
    });
    await sendPass(local, transportOf(clinic.clinicianA));
    expect(await states()).toEqual([{ kind: 'patient_create', state: 'rejected', code: 'forbidden' }]);
    expect(await count(`patients WHERE full_name = 'Not Allowed'`, [])).toBe(0);
  });
});
