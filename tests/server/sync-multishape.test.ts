// The browser's sync path: ONE pglite-sync `syncShapesToTables` call over all six tables (a
// MultiShapeStream of client 1.0.14, committing only up to the lowest complete LSN across the
// shapes). Bookings and status changes made through the HTTP API one after another, with pauses
// longer and shorter than the long-poll, must all land in the local replica.
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { electricSync } from '@electric-sql/pglite-sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { cookieFetch } from '../setup/shape-clients.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

const TABLES = ['doctors', 'specializations', 'doctor_specializations', 'doctor_hours', 'patients', 'appointments'];

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let slot = 0;

/** Local DDL mirroring the server's columns (enums as text), so every synced value fits. */
async function localDdl(table: string): Promise<string> {
  const cols = await db.pool.query<{ column_name: string; data_type: string; udt_name: string }>(
    `SELECT column_name, data_type, udt_name FROM information_schema.columns
      WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  const pk = await db.pool.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary`,
    [`public.${table}`],
  );
  const type = (c: { data_type: string; udt_name: string }) =>
    c.data_type === 'USER-DEFINED' ? 'text' : c.data_type === 'ARRAY' ? 'text[]' : c.udt_name;
  const defs = cols.rows.map((c) => `"${c.column_name}" ${type(c)}`);
  return `CREATE TABLE "${table}" (${defs.join(', ')}, PRIMARY KEY (${pk.rows.map((r) => `"${r.attname}"`).join(', ')}))`;
}

async function primaryKey(table: string): Promise<string[]> {
  const pk = await db.pool.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary`,
    [`public.${table}`],
  );
  return pk.rows.map((r) => r.attname);
}

/** A replica as the browser builds it: one multi-shape subscription over the six tables. */
async function browserReplica(cookie: string) {
  const local = await PGlite.create({ extensions: { electric: electricSync() } });
  const shapes: Record<string, unknown> = {};
  for (const t of TABLES) {
    await local.exec(await localDdl(t));
    shapes[t] = {
      shape: { url: `${server.url}/v1/shape`, params: { table: t }, fetchClient: cookieFetch(cookie) },
      table: t,
      primaryKey: await primaryKey(t),
    };
  }
  let initialSync = false;
  const sub = await local.electric.syncShapesToTables({
    key: `multi-${++slot}`,
    shapes: shapes as never,
    onInitialSync: () => {
      initialSync = true;
    },
  });
  await waitFor(() => initialSync, 30_000, 'initial multi-shape sync');
  return {
    local,
    async status(id: string): Promise<string | undefined> {
      const r = await local.query<{ status: string }>(`SELECT status FROM appointments WHERE id = $1`, [id]);
      return r.rows[0]?.status;
    },
    async close() {
      sub.unsubscribe();
      await local.close();
    },
  };
}

async function login(email: string) {
  const c = new ApiClient(server.url);
  await c.login(email, TEST_PASSWORD);
  return c;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
let nextSlot = 0;
// The server's clock for the scheduling rules: a check-in happens at its appointment's start.
const startOf = new Map<string, Date>();
let clockAt: Date | null = null;
const now = () => clockAt ?? new Date();

async function bookViaApi(api: ApiClient, doctorId: string, patientId: string): Promise<string> {
  const id = randomUUID();
  const starts = new Date(Date.UTC(2031, 0, 1, 8) + ++nextSlot * 3_600_000);
  const res = await api.post('/api/appointments', {
    id,
    patient_id: patientId,
    doctor_id: doctorId,
    starts_at: starts.toISOString(),
    duration_minutes: 15,
    urgency: 'emergency',
    reason: `multi-shape ${nextSlot}`,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  startOf.set(id, starts);
  return id;
}

async function checkIn(api: ApiClient, id: string) {
  clockAt = startOf.get(id)!;
  const res = await api.post(`/api/appointments/${id}/status`, { status: 'checked_in' });
  clockAt = null;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
}

/** Each test runs on its own database and server, so any one of them can run alone. */
async function freshServer(slotName: string, env: Record<string, string>, options: { chunkBytes?: number } = {}) {
  await server?.close();
  await db?.drop();
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startSyncTestServer(db, slotName, env, { ...options, now });
}

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

/**
 * Books `pauses.length` appointments and checks each in, pausing between the steps, and
 * waits (up to `withinMs` each) until every one is checked in on both replicas.
 */
async function bookAndCheckIn(pauses: number[], withinMs: number) {
  const api = await login(fx.users.receptionist.email);
  const clinicianApi = await login(fx.users.clinicianA.email);
  const reception = await browserReplica(api.cookie);
  const clinician = await browserReplica(clinicianApi.cookie);
  try {
    for (let i = 0; i < pauses.length; i++) {
      const doctor = i % 2 ? fx.doctorB : fx.doctorA;
      const id = await bookViaApi(api, doctor, fx.patients[i % fx.patients.length]!);
      await pause(pauses[i]!);
      await checkIn(api, id);
      await pause(pauses[(i + 3) % pauses.length]!);
      await waitFor(async () => (await reception.status(id)) === 'checked_in', withinMs, `reception sees ${i}`);
      if (doctor === fx.doctorA)
        await waitFor(async () => (await clinician.status(id)) === 'checked_in', withinMs, `clinician sees ${i}`);
    }
    const local = await reception.local.query<{ n: number }>(`SELECT count(*)::int AS n FROM appointments`);
    const remote = await db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM appointments WHERE deleted_at IS NULL`,
    );
    expect(local.rows[0]!.n).toBe(remote.rows[0]!.n);
  } finally {
    await reception.close();
    await clinician.close();
  }
}

describe('one syncShapesToTables over the six tables (the browser path)', () => {
  it('applies every booking and check-in, with long-poll timeouts in the mix', async () => {
    await freshServer('sync_multishape_short', { SYNC_LONG_POLL_MS: '700' });
    // Pauses below, around and above the long-poll, then bursts with no pause at all.
    await bookAndCheckIn([0, 50, 300, 900, 100, 0, 0, 1400, 10, 0], 15_000);
  }, 120_000);

  it("applies each change without waiting for the other shapes' long-polls to time out", async () => {
    // Every change must land well before any idle shape's long-poll could end: the other
    // shapes' up-to-dates (pglite-sync commits up to the lowest) must carry a current LSN.
    await freshServer('sync_multishape_long', { SYNC_LONG_POLL_MS: '20000' });
    await bookAndCheckIn([0, 200, 0, 500, 50, 0], 8_000);
  }, 120_000);

  it('converges under concurrent multi-table transactions with small chunks', async () => {
    // Small chunks: responses end inside transactions, and the client prefetches the next chunk.
    await freshServer('sync_multishape_chunks', { SYNC_LONG_POLL_MS: '500' }, { chunkBytes: 600 });
    const api = await login(fx.users.receptionist.email);
    const reception = await browserReplica(api.cookie);
    try {
      const writer = async (w: number) => {
        for (let i = 0; i < 12; i++) {
          const client = await db.pool.connect();
          try {
            await client.query('BEGIN');
            await client.query(`UPDATE patients SET phone = $1 WHERE id = $2`, [`+1-${w}-${i}`, fx.patients[w]!]);
            await client.query(
              `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, reason)
               VALUES ($1, $2, $3, $4, $4::timestamptz + interval '10 minutes', 10, $5)`,
              [
                randomUUID(),
                fx.patients[w]!,
                w % 2 ? fx.doctorA : fx.doctorB,
                new Date(Date.UTC(2032, w, 1 + i, 9)),
                `w${w} #${i}`,
              ],
            );
            if (i % 4 === 0) await client.query(`UPDATE doctors SET full_name = full_name WHERE id = $1`, [fx.doctorA]);
            await client.query('COMMIT');
          } finally {
            client.release();
          }
          await pause(i % 3 === 0 ? 0 : 40 * w);
        }
      };
      await Promise.all([0, 1, 2, 3].map(writer));
      const expected = async (sql: string) => (await db.pool.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
      const actual = async (sql: string) =>
        (await reception.local.query(sql)).rows.map((r) => JSON.stringify(r)).sort();
      const appts = `SELECT id::text, reason FROM appointments WHERE deleted_at IS NULL`;
      const phones = `SELECT id::text, phone FROM patients WHERE deleted_at IS NULL`;
      const want = [await expected(appts), await expected(phones)];
      await waitFor(
        async () => JSON.stringify([await actual(appts), await actual(phones)]) === JSON.stringify(want),
        20_000,
        'replica equal to the database',
      );
    } finally {
      await reception.close();
    }
  }, 120_000);
});
