// Lists cost one SQL round trip per page whatever its size, and the doctor-day schedule and
// the patient-status queries use the partial indexes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageSql } from '../../server/appointments/queries.js';
import { createPool } from '../../server/db/pool.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';
import { openClinic, type Clinic } from './appointments-helpers.js';

let clinic: Clinic;
let counted: TestServer;
let statements = 0;
beforeAll(async () => {
  clinic = await openClinic({ patients: 200 });
  // 20,000 past appointments (completed, so they hold no slot), some with reminders.
  await clinic.db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
     SELECT gen_random_uuid(), p[1 + i % 200], CASE WHEN i % 2 = 0 THEN $2::uuid ELSE $3::uuid END,
            timestamptz '2028-01-03 08:00Z' + (i / 2) * interval '30 minutes',
            timestamptz '2028-01-03 08:30Z' + (i / 2) * interval '30 minutes', 30, 'completed'
       FROM generate_series(0, 19999) i, (SELECT $1::uuid[] AS p) ps`,
    [clinic.fixture.patients, clinic.fixture.doctorA, clinic.fixture.doctorB],
  );
  await clinic.db.pool.query(
    `INSERT INTO reminders (appointment_id, channel, send_at)
     SELECT id, 'sms', starts_at - interval '1 day' FROM appointments WHERE doctor_id = $1`,
    [clinic.fixture.doctorA],
  );
  await clinic.db.pool.query('ANALYZE');
  // A server whose pool counts every statement any of its connections sends.
  const pool = createPool(clinic.db.url, { max: 4 });
  pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
      statements++;
      return query(...args);
    };
  });
  counted = await startTestServer(clinic.db, {}, (deps) => ({ ...deps, pool }));
});
afterAll(async () => {
  await counted?.close();
  await counted?.deps.pool.end();
  await clinic?.close();
});

async function statementsFor(client: ApiClient, path: string) {
  const before = statements;
  const res = await client.get(path);
  expect(res.status).toBe(200);
  return { statements: statements - before, body: res.body };
}

describe('one round trip per page', () => {
  it('a page of 50 and a page of 200 cost the same small number of statements', async () => {
    const client = new ApiClient(counted.url);
    client.cookie = clinic.receptionist.cookie;
    const small = await statementsFor(client, '/api/appointments?page_size=50');
    const big = await statementsFor(client, '/api/appointments?page_size=200&page=3');
    const filtered = await statementsFor(
      client,
      `/api/appointments?page_size=200&doctor_id=${clinic.fixture.doctorA}&status=completed`,
    );
    expect(small.body.results).toHaveLength(50);
    expect(big.body.results).toHaveLength(200);
    expect(filtered.body.results).toHaveLength(200);
    expect(filtered.body.results[0].reminders).toHaveLength(1);
    expect(filtered.body.results[0].doctor.specializations).toEqual(['Cardiology']);
    expect(big.body.count).toBe(20_000);
    expect(big.statements).toBe(small.statements);
    expect(filtered.statements).toBe(small.statements);
    // Session lookup, the total, the page, and the audit row (group-committed: BEGIN, SET,
    // INSERT, COMMIT, shared with the reads answered at the same moment).
    expect(small.statements).toBeLessThanOrEqual(10);
  });

  it('pages link to each other keeping the filters, and an empty page still counts', async () => {
    const res = await clinic.receptionist.get(
      `/api/appointments?doctor_id=${clinic.fixture.doctorB}&page=2&page_size=100`,
    );
    expect(res.body.count).toBe(10_000);
    expect(res.body.next).toBe(`?doctor_id=${clinic.fixture.doctorB}&page=3&page_size=100`);
    expect(res.body.previous).toBe(`?doctor_id=${clinic.fixture.doctorB}&page=1&page_size=100`);
    const starts = res.body.results.map((r: { starts_at: string }) => r.starts_at);
    expect([...starts].sort().reverse()).toEqual(starts);
    const past = await clinic.receptionist.get(`/api/appointments?doctor_id=${clinic.fixture.doctorB}&page=1000`);
    expect(past.body).toMatchObject({ count: 10_000, next: null, results: [] });
  });
});

describe('EXPLAIN uses the partial indexes', () => {
  const plan = async (filters: Record<string, unknown>) => {
    const sql = pageSql({ doctorId: null, seesNotes: true }, filters, 50, 0);
    const { rows } = await clinic.db.pool.query({ text: `EXPLAIN ${sql.text}`, values: sql.values });
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  };

  it('the doctor-day schedule uses appointments_doctor_starts_idx', async () => {
    const text = await plan({
      doctor_id: clinic.fixture.doctorA,
      from: '2028-03-01T00:00:00Z',
      to: '2028-03-02T00:00:00Z',
    });
    expect(text).toMatch(/Scan (using|on) appointments_doctor_starts_idx/);
    expect(text).not.toMatch(/Seq Scan on appointments/);
  });

  it("the patient's appointments by status use appointments_patient_status_idx", async () => {
    const text = await plan({ patient_id: clinic.fixture.patients[7], status: ['completed', 'scheduled'] });
    expect(text).toMatch(/Scan (using|on) appointments_patient_status_idx/);
    expect(text).not.toMatch(/Seq Scan on appointments/);
  });
});
