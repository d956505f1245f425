// The official clients (ShapeStream/Shape 1.5 and pglite-sync with client 1.0.14) against the
// real server: initial sync per role, live changes of every kind, scoping, and bad input.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { APPOINTMENTS_DDL, PATIENTS_DDL, pgliteReplica, shapeOf } from '../setup/shape-clients.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
const cookies: Record<string, string> = {};

async function login(email: string) {
  const c = new ApiClient(server.url);
  await c.login(email, TEST_PASSWORD);
  return c;
}

async function book(doctorId: string, patientId: string, daysAhead: number, extra: Record<string, unknown> = {}) {
  const id = randomUUID();
  const starts = new Date(Date.UTC(2030, 0, 1, 9) + daysAhead * 86_400_000);
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, reason, clinical_notes)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, $5, $6)`,
    [id, patientId, doctorId, starts, extra.reason ?? 'check-up', extra.clinical_notes ?? 'notes'],
  );
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startSyncTestServer(db, 'sync_main_test');
  for (const [name, u] of Object.entries(fx.users)) cookies[name] = (await login(u.email)).cookie;
  await book(fx.doctorA, fx.patients[0]!, 1);
  await book(fx.doctorB, fx.patients[1]!, 2);
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('GET /v1/shape with @electric-sql/client 1.5', () => {
  it('syncs the receptionist the whole schedule without clinical notes, live', async () => {
    const { stream, shape } = shapeOf(server.url, cookies.receptionist!, { table: 'appointments' });
    const rows = await shape.rows;
    const expected = await db.pool.query('SELECT id FROM appointments WHERE deleted_at IS NULL ORDER BY id');
    expect(rows.map((r) => r.id).sort()).toEqual(expected.rows.map((r) => r.id));
    expect(rows.every((r) => !('clinical_notes' in r))).toBe(true);

    const id = await book(fx.doctorA, fx.patients[2]!, 3, { reason: 'ünïcødé ✓', clinical_notes: 'secret' });
    await waitFor(() => shape.currentRows.some((r) => r.id === id), 10_000, 'live insert');
    const row = shape.currentRows.find((r) => r.id === id)!;
    expect(row.reason).toBe('ünïcødé ✓');
    expect(row.duration_minutes).toBe(30);
    expect('clinical_notes' in row).toBe(false);

    await db.pool.query(`UPDATE appointments SET status = 'confirmed', reason = NULL WHERE id = $1`, [id]);
    await waitFor(() => shape.currentRows.find((r) => r.id === id)?.status === 'confirmed', 10_000, 'update');
    expect(shape.currentRows.find((r) => r.id === id)!.reason).toBeNull();

    await db.pool.query(`UPDATE appointments SET deleted_at = now() WHERE id = $1`, [id]);
    await waitFor(() => !shape.currentRows.some((r) => r.id === id), 10_000, 'soft delete');
    stream.unsubscribeAll();
  });

  it('gives a clinician only their doctor’s appointments and patients, moving patients in live', async () => {
    const appts = shapeOf(server.url, cookies.clinicianA!, { table: 'appointments' });
    const patients = shapeOf(server.url, cookies.clinicianA!, { table: 'patients' });
    const rows = await appts.shape.rows;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.doctor_id === fx.doctorA)).toBe(true);
    const pRows = await patients.shape.rows;
    const own = await db.pool.query(
      `SELECT DISTINCT patient_id FROM appointments WHERE doctor_id = $1 AND deleted_at IS NULL ORDER BY 1`,
      [fx.doctorA],
    );
    expect(pRows.map((r) => r.id).sort()).toEqual(own.rows.map((r) => r.patient_id));

    const newcomer = fx.patients[5]!;
    expect(pRows.some((r) => r.id === newcomer)).toBe(false);
    const other = await book(fx.doctorB, fx.patients[4]!, 4);
    const mine = await book(fx.doctorA, newcomer, 5);
    await waitFor(() => patients.shape.currentRows.some((r) => r.id === newcomer), 10_000, 'patient move-in');
    await waitFor(() => appts.shape.currentRows.some((r) => r.id === mine), 10_000, 'own appointment');
    expect(appts.shape.currentRows.some((r) => r.id === other)).toBe(false);
    expect(patients.shape.currentRows.some((r) => r.id === fx.patients[4])).toBe(false);

    await db.pool.query(`UPDATE appointments SET deleted_at = now() WHERE id = $1`, [mine]);
    await waitFor(() => !patients.shape.currentRows.some((r) => r.id === newcomer), 10_000, 'patient move-out');
    appts.stream.unsubscribeAll();
    patients.stream.unsubscribeAll();
  });
});

describe('pglite-sync 0.6.1 into an in-memory PGlite', () => {
  it('replicates appointments and patients for an admin, including live changes', async () => {
    const replica = await pgliteReplica(server.url, cookies.admin!, [
      { table: 'patients', ddl: PATIENTS_DDL },
      { table: 'appointments', ddl: APPOINTMENTS_DDL },
    ]);
    const count = async () =>
      (await replica.db.query<{ n: number }>('SELECT count(*)::int AS n FROM appointments')).rows[0]!.n;
    const expected = async () =>
      (await db.pool.query('SELECT count(*)::int AS n FROM appointments WHERE deleted_at IS NULL')).rows[0].n;
    await waitFor(async () => (await count()) === (await expected()), 15_000, 'initial pglite sync');
    const id = await book(fx.doctorB, fx.patients[3]!, 9, { clinical_notes: 'for the admin' });
    await waitFor(
      async () => (await replica.db.query('SELECT 1 FROM appointments WHERE id = $1', [id])).rows.length === 1,
      10_000,
      'pglite insert',
    );
    const note = await replica.db.query<{ clinical_notes: string }>(
      'SELECT clinical_notes FROM appointments WHERE id = $1',
      [id],
    );
    expect(note.rows[0]!.clinical_notes).toBe('for the admin');
    await db.pool.query(`UPDATE patients SET full_name = 'Renamed Ω' WHERE id = $1`, [fx.patients[3]]);
    await waitFor(
      async () =>
        (
          await replica.db.query<{ full_name: string }>('SELECT full_name FROM patients WHERE id = $1', [
            fx.patients[3],
          ])
        ).rows[0]?.full_name === 'Renamed Ω',
      10_000,
      'pglite update',
    );
    await replica.close();
    // PGlite's start (WebAssembly) alone takes tens of seconds on a busy machine.
  }, 120_000);
});

describe('authorization and bad input', () => {
  const get = (cookie: string | undefined, query: string) =>
    fetch(`${server.url}/v1/shape?${query}`, { headers: cookie ? { cookie } : {} });

  it('answers 401 without a session and 403 for tables or columns the role may not sync', async () => {
    expect((await get(undefined, 'table=appointments&offset=-1')).status).toBe(401);
    expect((await get(cookies.receptionist, 'table=users&offset=-1')).status).toBe(403);
    expect((await get(cookies.receptionist, 'table=appointments&offset=-1&columns=id,clinical_notes')).status).toBe(
      403,
    );
    expect(
      (
        await get(
          cookies.receptionist,
          `table=appointments&offset=-1&where=${encodeURIComponent("clinical_notes = 'x'")}`,
        )
      ).status,
    ).toBe(403);
  });

  it('refuses a client’s own subquery (it could probe other tables and hidden columns)', async () => {
    const where = encodeURIComponent(`id IN (SELECT patient_id FROM appointments WHERE clinical_notes LIKE 'n%')`);
    const res = await get(cookies.receptionist, `table=patients&offset=-1&where=${where}`);
    expect(res.status).toBe(403);
    expect(JSON.stringify(await res.json())).toMatch(/subquery/);
  });

  it('keeps a clinician inside their scope whatever where they send', async () => {
    const where = encodeURIComponent(`doctor_id = '${fx.doctorB}'`);
    const res = await get(cookies.clinicianA, `table=appointments&offset=-1&where=${where}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Array<{ value?: { doctor_id: string } }>;
    expect(body.filter((m) => m.value).length).toBe(0);
  });

  it('answers malformed requests with the protocol’s 400 and unknown handles with 409', async () => {
    for (const q of [
      'offset=-1',
      'table=appointments',
      'table=appointments&offset=abc',
      'table=appointments&offset=1_1',
      'table=nope&offset=-1',
      `table=appointments&offset=-1&where=${encodeURIComponent('status = ')}`,
      `table=appointments&offset=-1&where=${encodeURIComponent('status = $1')}`,
      `table=appointments&offset=-1&where=${encodeURIComponent('pg_sleep(1) IS NULL')}`,
      `table=appointments&offset=-1&where=${encodeURIComponent('1 / (duration_minutes - 30) > 0')}`,
      `table=appointments&offset=-1&where=${encodeURIComponent("status = 'a'; DROP TABLE users")}`,
      `table=appointments&offset=-1&columns=${encodeURIComponent('status,reason')}`,
      `table=appointments&offset=-1&where=${encodeURIComponent('duration_minutes = $1')}&params[1]=${'9'.repeat(9000)}`,
    ]) {
      const res = await get(cookies.admin, q);
      expect(res.status, q).toBe(400);
      expect(((await res.json()) as { errors: object }).errors, q).toBeTypeOf('object');
    }
    const stale = await get(cookies.admin, 'table=appointments&offset=0_0&handle=not-a-handle');
    expect(stale.status).toBe(409);
    expect(stale.headers.get('electric-handle')).toBeTruthy();
    expect(await stale.json()).toEqual([{ headers: { control: 'must-refetch' } }]);
  });

  it('holds a live request until the long-poll timeout and answers up-to-date with a cursor', async () => {
    const first = await get(cookies.admin, 'table=doctors&offset=-1');
    const handle = first.headers.get('electric-handle')!;
    let offset = first.headers.get('electric-offset')!;
    const catchUp = await get(cookies.admin, `table=doctors&offset=${offset}&handle=${handle}`);
    offset = catchUp.headers.get('electric-offset')!;
    const live = await get(cookies.admin, `table=doctors&offset=${offset}&handle=${handle}&live=true&cursor=`);
    expect(live.status).toBe(200);
    expect(live.headers.get('electric-cursor')).toMatch(/^\d+$/);
    const body = (await live.json()) as Array<{ headers: { control?: string; global_last_seen_lsn?: string } }>;
    expect(body.at(-1)!.headers.control).toBe('up-to-date');
    expect(body.at(-1)!.headers.global_last_seen_lsn).toMatch(/^\d+$/);
  });

  it('serves /v1/health and audits patient-data subscriptions', async () => {
    expect(await (await fetch(`${server.url}/v1/health`)).json()).toEqual({ status: 'active' });
    const audited = await db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'sync.subscribe'`);
    expect(audited.rows[0].n).toBeGreaterThan(0);
  });
});
