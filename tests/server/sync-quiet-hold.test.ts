// Live requests on the rarely changing reference tables are held SYNC_QUIET_LONG_POLL_MS,
// those on appointments and patients the full SYNC_LONG_POLL_MS: a device long-polls six
// shapes, and browsers give a host six HTTP/1.1 connections, so the quiet shapes must keep
// handing theirs back for the app's own requests (the outbox replay above all).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let cookie: string;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startSyncTestServer(db, 'sync_quiet_hold_test', {
    SYNC_LONG_POLL_MS: '20000',
    SYNC_QUIET_LONG_POLL_MS: '200',
  });
  const c = new ApiClient(server.url);
  await c.login(fx.users.receptionist.email, TEST_PASSWORD);
  cookie = c.cookie;
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const get = (query: string) => fetch(`${server.url}/v1/shape?${query}`, { headers: { cookie } });

/** A live request at the end of the table's log (after the snapshot). */
async function liveRequest(table: string): Promise<Response> {
  const first = await get(`table=${table}&offset=-1`);
  const handle = first.headers.get('electric-handle')!;
  await first.arrayBuffer();
  const offset = first.headers.get('electric-offset')!;
  return get(`table=${table}&offset=${offset}&handle=${handle}&live=true&cursor=`);
}

describe('long-poll hold per table', () => {
  it('answers a quiet table up-to-date while an appointments long-poll is still held; a booking wakes that one', async () => {
    const appointments = liveRequest('appointments').then((r) => ({ table: 'appointments', r }));
    const doctors = liveRequest('doctors').then((r) => ({ table: 'doctors', r }));
    const first = await Promise.race([appointments, doctors]);
    expect(first.table).toBe('doctors');
    const body = (await first.r.json()) as Array<{ headers: { control?: string } }>;
    expect(body.at(-1)!.headers.control).toBe('up-to-date');

    // Still held: a change to the table answers it, long before its 20 s hold.
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
       VALUES ($1, $2, $3, '2030-02-04T09:00:00Z', '2030-02-04T09:30:00Z', 30)`,
      [id, fx.patients[0], fx.doctorA],
    );
    const woken = await appointments;
    const changes = (await woken.r.json()) as Array<{ key?: string; value?: { id?: string } }>;
    expect(changes.some((m) => m.value?.id === id)).toBe(true);
  });
});
