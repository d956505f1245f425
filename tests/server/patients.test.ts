// Patients: search on name/MRN/phone, create/edit, clinician scope, audited reads.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { booking, openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
beforeAll(async () => {
  clinic = await openClinic({ patients: 30 });
});
afterAll(() => clinic?.close());

const auditRows = async (action: string) =>
  (
    await clinic.db.pool.query(`SELECT actor_id, entity_id, details FROM audit_log WHERE action = $1 ORDER BY id`, [
      action,
    ])
  ).rows;

describe('patients', () => {
  it('creates (idempotently with its id), reads and edits', async () => {
    const body = {
      id: randomUUID(),
      full_name: 'Zoë Quinn-Ortega',
      date_of_birth: '1991-04-05',
      phone: '+44 20 7946 0000',
      email: 'zoe@example.org',
    };
    const created = await clinic.receptionist.post('/api/patients', body);
    expect(created.status).toBe(201);
    expect(created.body.patient).toMatchObject({ ...body, mrn: expect.stringMatching(/^MRN-[0-9A-F]{10}$/) });
    expect(created.body.txid).toEqual(expect.any(Number));
    expect((await clinic.receptionist.post('/api/patients', body)).body).toEqual(created.body);
    expect((await clinic.receptionist.post('/api/patients', { ...body, full_name: 'Other' })).body.error.code).toBe(
      'idempotency_mismatch',
    );

    const edited = await clinic.admin.patch(`/api/patients/${body.id}`, { phone: null, mrn: 'ZQ-1' });
    expect(edited.status).toBe(200);
    expect(edited.body.patient).toMatchObject({ phone: null, mrn: 'ZQ-1', email: body.email });
    const taken = await clinic.admin.patch(`/api/patients/${body.id}`, { mrn: 'TST00001' });
    expect(taken.status).toBe(409);
    expect(taken.body.error.code).toBe('mrn_taken');
    expect(
      (await clinic.clinicianA.post('/api/patients', { full_name: 'X', date_of_birth: '1990-01-01' })).status,
    ).toBe(403);
    expect((await clinic.clinicianA.patch(`/api/patients/${body.id}`, { full_name: 'X' })).status).toBe(403);
    expect((await clinic.admin.patch(`/api/patients/${randomUUID()}`, { full_name: 'X' })).status).toBe(404);
    const read = await clinic.admin.get(`/api/patients/${body.id}`);
    expect(read.body.patient.full_name).toBe('Zoë Quinn-Ortega');
  });

  it('searches name, MRN and phone as substrings, word by word in any order; wildcards in the term are literal', async () => {
    const search = async (term: string) =>
      (await clinic.receptionist.get(`/api/patients?search=${encodeURIComponent(term)}`)).body.results.map(
        (p: { full_name: string }) => p.full_name,
      );
    // Every word somewhere in name, MRN or phone ("2": the name's, the MRN's or the phone's digits).
    const twos = ['Patient 12', 'Patient 2', ...Array.from({ length: 10 }, (_, i) => `Patient ${20 + i}`)];
    expect(await search('Patient 2')).toEqual(twos);
    expect(await search('2 PATIENT')).toEqual(twos);
    expect(await search('tst00007')).toEqual(['Patient 7']);
    expect(await search('000-0023')).toEqual(['Patient 23']);
    expect(await search('%')).toEqual([]);
    expect(await search('_')).toEqual([]);
    const page = await clinic.receptionist.get('/api/patients?page_size=10&page=2');
    expect(page.body).toMatchObject({ count: 31, previous: '?page=1&page_size=10', next: '?page=3&page_size=10' });
    expect(page.body.results).toHaveLength(10);
  });

  it('a clinician sees only patients with an appointment with their doctor', async () => {
    const [p1, p2] = clinic.fixture.patients as [string, string];
    await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id: p1, doctor_id: clinic.fixture.doctorA }),
    );
    await clinic.admin.post(
      '/api/appointments',
      booking(clinic.fixture, { patient_id: p2, doctor_id: clinic.fixture.doctorB }),
    );
    const list = await clinic.clinicianA.get('/api/patients');
    expect(list.body.results.map((p: { id: string }) => p.id)).toEqual([p1]);
    expect((await clinic.clinicianA.get(`/api/patients/${p1}`)).status).toBe(200);
    expect((await clinic.clinicianA.get(`/api/patients/${p2}`)).status).toBe(404);
    expect((await clinic.clinicianB.get(`/api/patients/${p1}`)).status).toBe(404);
  });

  it('every read of patient data is audited with who and which patients', async () => {
    const before = (await auditRows('patient.list')).length;
    const res = await clinic.clinicianA.get('/api/patients?search=Patient');
    const rows = await auditRows('patient.list');
    expect(rows).toHaveLength(before + 1);
    expect(rows.at(-1).actor_id).toBe(clinic.fixture.users.clinicianA.id);
    expect(rows.at(-1).details.ids).toEqual(res.body.results.map((p: { id: string }) => p.id));
    await clinic.receptionist.get(`/api/patients/${clinic.fixture.patients[3]}`);
    expect((await auditRows('patient.read')).at(-1)).toMatchObject({
      actor_id: clinic.fixture.users.receptionist.id,
      entity_id: clinic.fixture.patients[3],
    });
    await clinic.receptionist.get(`/api/appointments?patient_id=${clinic.fixture.patients[0]}`);
    expect((await auditRows('appointment.list')).at(-1).actor_id).toBe(clinic.fixture.users.receptionist.id);
  });
});

describe('search on 100,000 patients', () => {
  it('uses the trigram indexes, not a scan of the table', async () => {
    await clinic.db.pool.query(
      `INSERT INTO patients (full_name, date_of_birth, mrn, phone)
       SELECT 'Bulk ' || md5(i::text), date '1950-01-01' + i % 20000, 'BLK' || i, '+1-555-' || lpad(i::text, 7, '0')
         FROM generate_series(1, 100000) i`,
    );
    await clinic.db.pool.query('ANALYZE patients');
    const res = await clinic.receptionist.get('/api/patients?search=BLK4242');
    expect(res.body.results.map((p: { mrn: string }) => p.mrn).sort()).toEqual([
      'BLK4242',
      ...Array.from({ length: 10 }, (_, d) => `BLK4242${d}`),
    ]);
    const { rows } = await clinic.db.pool.query(
      `EXPLAIN WITH matches AS MATERIALIZED (SELECT id, full_name FROM patients p WHERE p.deleted_at IS NULL
         AND patient_search_haystack(p.full_name, p.mrn, p.phone) LIKE $1)
       SELECT id FROM matches ORDER BY full_name, id LIMIT 50`,
      ['%blk4242%'],
    );
    const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
    expect(plan).toMatch(/Bitmap Index Scan on patients_search_haystack_trgm_idx/);
    expect(plan).not.toMatch(/Seq Scan on patients/);
  }, 240_000);
});
