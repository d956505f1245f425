// Patient create and edit on the outbox, in the real local schema (in-memory PGlite): overlay
// row and entry in one transaction, bad input never queued, edits of synced and of offline
// patients, dependencies of a booking on its new patient, confirmation by updated_at, discard.
// The network is a scripted transport; tests/server/outbox-patients.test.ts uses the server.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { confirmAccepted, discardEntry } from '../../src/lib/outbox/confirm.js';
import type { OutboxDb } from '../../src/lib/outbox/db.js';
import {
  createPatientLocally,
  patientChanges,
  patientFormInput,
  PatientInputError,
  updatePatientLocally,
} from '../../src/lib/outbox/patient-writes.js';
import { sendPass, type OutboxRequest, type OutboxResponse } from '../../src/lib/outbox/sender.js';
import { bookLocally, LocalWriteError } from '../../src/lib/outbox/writes.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-000000000002';
const data = clinic({ doctors: 1, patients: 10, appointments: 0, now: new Date('2026-11-20T08:00:00Z') });
const doctor = data.doctors[0]!.id;
const synced = data.patients[0]!;
const newPatient = { full_name: 'Ada Offline', date_of_birth: '1990-04-01', phone: '555-0100' };

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDbWith(data);
}, 120_000);
afterAll(() => db.close());
beforeEach(async () => {
  await db.exec(`DELETE FROM outbox; DELETE FROM patients_overlay; DELETE FROM appointments_overlay;
    DELETE FROM patients_synced WHERE full_name LIKE 'Ada%'`);
});

/** Answers each request like the server would: the patient (or appointment) it wrote. */
function serverLike(status = 200, updatedAt = '2026-11-29T10:00:00.123Z') {
  const requests: OutboxRequest[] = [];
  const transport = async (req: OutboxRequest): Promise<OutboxResponse> => {
    requests.push(req);
    if (status >= 400)
      return {
        status,
        retryAfter: null,
        json: { error: { code: 'mrn_taken', message: 'Another patient already has this MRN.' } },
      };
    const id = (req.body as { id?: string }).id ?? req.path.split('/')[3];
    const json = req.path.startsWith('/api/patients')
      ? { patient: { id, updated_at: updatedAt }, txid: 7 }
      : { appointment: { id, version: 1 }, txid: 8 };
    return { status, retryAfter: null, json };
  };
  return { transport, requests };
}

async function outbox(): Promise<{ id: string; kind: string; state: string; depends_on: string | null }[]> {
  return (await db.query<never>('SELECT id, kind, state, depends_on, last_error FROM outbox ORDER BY seq')).rows;
}

async function patientRow(id: string) {
  return (
    await db.query<{ full_name: string; phone: string | null; mrn: string | null; pending: boolean }>(
      'SELECT full_name, phone, mrn, pending FROM patients WHERE id = $1',
      [id],
    )
  ).rows;
}

/** What sync does: the server's row lands in patients_synced. */
async function syncPatient(id: string, updatedAt: string, phone: string | null = newPatient.phone): Promise<void> {
  await db.query(
    `INSERT INTO patients_synced (id, full_name, date_of_birth, mrn, phone, created_at, updated_at)
     VALUES ($1, 'Ada Offline', '1990-04-01', 'MRN-SRV1', $3, $2, $2)
     ON CONFLICT (id) DO UPDATE SET updated_at = $2, phone = $3`,
    [id, updatedAt, phone],
  );
}

describe('patient writes on the local write path', () => {
  it('a new patient: overlay row and entry together, shown at once as pending', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    expect(await patientRow(id)).toEqual([{ full_name: 'Ada Offline', phone: '555-0100', mrn: null, pending: true }]);
    expect(await outbox()).toMatchObject([{ id, kind: 'patient_create', state: 'pending', depends_on: null }]);
    const entry = (await db.query<Record<string, unknown>>('SELECT * FROM outbox')).rows[0]!;
    expect(entry).toMatchObject({ method: 'POST', path: '/api/patients', entity_id: id, result_id: id, user_id: USER });
    expect(entry.body).toEqual({ ...newPatient, id });
    // Searchable (the booking form's patient search reads the merged view).
    const found = await db.query('SELECT id FROM patients WHERE search_text LIKE $1', ['%ada offline%']);
    expect(found.rows).toEqual([{ id }]);
  });

  it('the overlay row and the entry commit together or not at all', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    await db.query('DELETE FROM patients_overlay');
    // Same id again: the overlay insert works, the entry's key is taken, so both roll back.
    await expect(createPatientLocally(db, USER, { ...newPatient, id })).rejects.toThrow();
    expect(await patientRow(id)).toEqual([]);
    expect(await outbox()).toHaveLength(1);
  });

  it('invalid input writes nothing and names the fields', async () => {
    const err = await createPatientLocally(db, USER, {
      full_name: ' ',
      date_of_birth: '1890-13-01',
      email: 'nope',
      extra: 1,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PatientInputError);
    expect(Object.keys((err as PatientInputError).fields).sort()).toEqual(
      ['date_of_birth', 'email', 'form', 'full_name'].sort(),
    );
    expect((err as PatientInputError).fields).toMatchObject({
      full_name: 'Required.',
      date_of_birth: 'Enter a date (YYYY-MM-DD).',
      form: 'Unknown field: extra.',
    });
    const blank = await createPatientLocally(db, USER, { full_name: 'A', date_of_birth: '' }).catch((e: unknown) => e);
    expect((blank as PatientInputError).fields).toEqual({ date_of_birth: 'Required.' });
    const bad = await updatePatientLocally(db, USER, synced.id, { mrn: 'has space' }).catch((e: unknown) => e);
    expect((bad as PatientInputError).fields).toHaveProperty('mrn');
    expect(await outbox()).toEqual([]);
    expect((await db.query('SELECT 1 FROM patients_overlay')).rows).toEqual([]);
  });

  it('an MRN another patient on this device has is refused before queuing', async () => {
    const err = await createPatientLocally(db, USER, { ...newPatient, mrn: synced.mrn }).catch((e: unknown) => e);
    expect((err as PatientInputError).fields).toEqual({ mrn: 'Another patient already has this MRN.' });
    // The patient's own MRN is no conflict.
    expect(await updatePatientLocally(db, USER, synced.id, { mrn: synced.mrn, phone: '1' })).toBe(true);
    expect(await outbox()).toHaveLength(1);
  });

  it('an edit of a synced patient copies the row into the overlay and queues only the changes', async () => {
    expect(await updatePatientLocally(db, USER, synced.id, { phone: '555-0199', email: null })).toBe(true);
    expect(await patientRow(synced.id)).toEqual([
      { full_name: synced.full_name, phone: '555-0199', mrn: synced.mrn, pending: true },
    ]);
    const entry = (await db.query<Record<string, unknown>>('SELECT * FROM outbox')).rows[0]!;
    expect(entry).toMatchObject({
      kind: 'patient_update',
      method: 'PATCH',
      path: `/api/patients/${synced.id}`,
      entity_id: synced.id,
      result_id: null,
      depends_on: null,
      body: { phone: '555-0199', email: null },
    });
    const kept = await db.query<{ phone: string }>('SELECT phone FROM patients_synced WHERE id = $1', [synced.id]);
    expect(kept.rows[0]!.phone).toBe(synced.phone);
    // No change, nothing queued; an unknown patient is refused.
    expect(await updatePatientLocally(db, USER, synced.id, {})).toBe(false);
    await expect(
      updatePatientLocally(db, USER, '00000000-0000-4000-8000-00000000dead', { phone: '1' }),
    ).rejects.toBeInstanceOf(LocalWriteError);
    expect(await outbox()).toHaveLength(1);
  });

  it('an edit of a patient created offline depends on the create and changes its overlay row', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    await updatePatientLocally(db, USER, id, { phone: '555-0111' });
    const [create, edit] = await outbox();
    expect(edit).toMatchObject({ kind: 'patient_update', depends_on: create!.id });
    expect(await patientRow(id)).toEqual([{ full_name: 'Ada Offline', phone: '555-0111', mrn: null, pending: true }]);
  });

  it('form helpers: blanks mean none, an edit sends only what differs', () => {
    const input = patientFormInput({
      full_name: ' Ada ',
      date_of_birth: '1990-04-01',
      mrn: ' ',
      phone: '',
      email: 'a@b.co',
    });
    expect(input).toEqual({
      full_name: 'Ada',
      date_of_birth: '1990-04-01',
      mrn: undefined,
      phone: null,
      email: 'a@b.co',
    });
    const current = { full_name: 'Ada', date_of_birth: '1990-04-01', mrn: 'M1', phone: '1', email: null };
    expect(patientChanges(current, input)).toEqual({ phone: null, email: 'a@b.co' });
  });
});

describe('sending and confirming patient writes', () => {
  it('confirmed when the synced row reaches the answered updated_at, not before', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    const net = serverLike(201, '2026-11-29T10:00:00.123Z');
    await sendPass(db, net.transport);
    expect(net.requests).toEqual([
      { method: 'POST', path: '/api/patients', body: { ...newPatient, id }, idempotencyKey: id },
    ]);
    expect(await outbox()).toMatchObject([{ state: 'accepted' }]);
    expect(await confirmAccepted(db)).toBe(0);
    await syncPatient(id, '2026-11-29T10:00:00.122Z'); // an older version of the row
    expect(await confirmAccepted(db)).toBe(0);
    expect((await patientRow(id))[0]!.pending).toBe(true);
    await syncPatient(id, '2026-11-29T10:00:00.123456Z');
    expect(await confirmAccepted(db)).toBe(1);
    expect(await outbox()).toEqual([]);
    expect(await patientRow(id)).toEqual([
      { full_name: 'Ada Offline', phone: '555-0100', mrn: 'MRN-SRV1', pending: false },
    ]);
    expect((await db.query('SELECT 1 FROM patients_overlay')).rows).toEqual([]);
  });

  it('the overlay stays while an edit is still unconfirmed after the create is confirmed', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    await sendPass(db, serverLike(201, '2026-11-29T10:00:00Z').transport);
    await updatePatientLocally(db, USER, id, { phone: '555-0122' });
    await syncPatient(id, '2026-11-29T10:00:00Z');
    expect(await confirmAccepted(db)).toBe(1);
    expect(await patientRow(id)).toMatchObject([{ phone: '555-0122', pending: true }]);
    await sendPass(db, serverLike(200, '2026-11-29T10:05:00Z').transport);
    await syncPatient(id, '2026-11-29T10:05:00Z', '555-0122');
    expect(await confirmAccepted(db)).toBe(1);
    expect(await outbox()).toEqual([]);
    expect(await patientRow(id)).toMatchObject([{ phone: '555-0122', pending: false }]);
  });

  it('a booking of a new patient waits for it: goes when accepted, rejected with it otherwise', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    const booking = await bookLocally(db, USER, {
      patient_id: id,
      doctor_id: doctor,
      starts_at: '2031-02-03T09:00:00Z',
      duration_minutes: 30,
    });
    expect((await outbox())[1]).toMatchObject({ id: booking, depends_on: id });
    const net = serverLike(201);
    await sendPass(db, net.transport);
    expect(net.requests.map((r) => r.path)).toEqual(['/api/patients', '/api/appointments']);
    expect((await outbox()).map((e) => e.state)).toEqual(['accepted', 'accepted']);

    await db.exec('DELETE FROM outbox; DELETE FROM patients_overlay; DELETE FROM appointments_overlay');
    const refused = await createPatientLocally(db, USER, { ...newPatient, mrn: 'MRN-TAKEN' });
    const orphan = await bookLocally(db, USER, {
      patient_id: refused,
      doctor_id: doctor,
      starts_at: '2031-02-03T10:00:00Z',
      duration_minutes: 30,
    });
    const edit = await updatePatientLocally(db, USER, refused, { phone: '1' }).then(
      async () => (await outbox())[2]!.id,
    );
    const fail = serverLike(409);
    await sendPass(db, fail.transport);
    expect(fail.requests.map((r) => r.path)).toEqual(['/api/patients']);
    const rows = (
      await db.query<{ id: string; state: string; code: string; status: number | null }>(
        `SELECT id, state, last_error->>'code' AS code, (last_error->>'status')::int AS status FROM outbox ORDER BY seq`,
      )
    ).rows;
    expect(rows).toEqual([
      { id: refused, state: 'rejected', code: 'mrn_taken', status: 409 },
      { id: orphan, state: 'rejected', code: 'dependency_rejected', status: null },
      { id: edit, state: 'rejected', code: 'dependency_rejected', status: null },
    ]);
  });

  it('discarding a rejected new patient removes its dependants and the local rows', async () => {
    const id = await createPatientLocally(db, USER, newPatient);
    const booking = await bookLocally(db, USER, {
      patient_id: id,
      doctor_id: doctor,
      starts_at: '2031-02-03T11:00:00Z',
      duration_minutes: 30,
    });
    await sendPass(db, serverLike(409).transport);
    await discardEntry(db, id);
    expect(await outbox()).toEqual([]);
    expect(await patientRow(id)).toEqual([]);
    expect((await db.query('SELECT 1 FROM appointments WHERE id = $1', [booking])).rows).toEqual([]);
  });

  it('discarding a rejected edit brings back the synced row', async () => {
    await updatePatientLocally(db, USER, synced.id, { phone: '555-0177' });
    await sendPass(db, serverLike(409).transport);
    const [entry] = await outbox();
    expect(entry!.state).toBe('rejected');
    await discardEntry(db, entry!.id);
    expect(await patientRow(synced.id)).toEqual([
      { full_name: synced.full_name, phone: synced.phone, mrn: synced.mrn, pending: false },
    ]);
  });
});
