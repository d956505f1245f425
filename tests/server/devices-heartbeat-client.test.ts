// The app's heartbeat sender (src/lib/devices/heartbeat.ts) against the real server: it reports
// on start, again soon after notify(), and the server stores what it said.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '../../src/lib/shared/device-schemas.js';
import { startHeartbeats, type HeartbeatState } from '../../src/lib/devices/heartbeat.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

let db: TestDatabase;
let server: TestServer;
let fx: Fixture;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

async function until(check: () => Promise<boolean>, what: string) {
  const end = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('heartbeat sender', () => {
  it('reports on start and after a change, and the server keeps the newest state', async () => {
    const client = new ApiClient(server.url);
    await client.login(fx.users.clinicianA.email, TEST_PASSWORD);
    const state: HeartbeatState = {
      device_id: randomUUID(),
      app_version: '3.1.0',
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      last_synced_at: null,
      shapes: { appointments: '-1' },
    };
    const sent: number[] = [];
    const sender = startHeartbeats({
      read: () => ({ ...state }),
      intervalMs: 60_000,
      debounceMs: 20,
      send: async (body: Heartbeat) => {
        const res = await client.post('/api/devices/heartbeat', body);
        sent.push(res.status);
        return new Response(null, { status: res.status });
      },
    });
    try {
      await sender.idle();
      const row = async () => (await db.pool.query('SELECT * FROM devices WHERE id = $1', [state.device_id])).rows[0];
      expect(await row()).toMatchObject({
        user_id: fx.users.clinicianA.id,
        app_version: '3.1.0',
        outbox_pending: 0,
        storage: {},
      });

      // The outbox grows while offline, then sync catches up: two quick changes, one heartbeat.
      state.online = false;
      state.outbox_pending = 2;
      sender.notify();
      state.shapes = { appointments: '123456_0' };
      state.last_synced_at = new Date().toISOString();
      sender.notify();
      await until(async () => sent.length === 2, 'the second heartbeat');
      await sender.idle();
      expect(await row()).toMatchObject({ online: false, outbox_pending: 2, shapes: { appointments: '123456_0' } });
      expect(sent).toEqual([204, 204]);
    } finally {
      sender.stop();
    }
  });
});
