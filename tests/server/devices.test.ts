// Heartbeats: stored per device, validated, shown on the admin sync page with the right
// green / amber / red state; a device that stops syncing turns amber, then red.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

let db: TestDatabase;
let server: TestServer;
let fx: Fixture;
const clients: Record<string, ApiClient> = {};

function heartbeat(overrides: Record<string, unknown> = {}) {
  return {
    device_id: randomUUID(),
    app_version: '1.2.3',
    online: true,
    outbox_pending: 0,
    outbox_rejected: 0,
    last_synced_at: new Date().toISOString(),
    shapes: { appointments: '26543920_4', patients: '-1' },
    storage: { persisted: true, usage: 12_000_000, quota: 2_000_000_000 },
    ...overrides,
  };
}

async function adminDevice(deviceId: string) {
  const res = await clients.admin!.get('/api/admin/sync');
  expect(res.status).toBe(200);
  return res.body.devices.find((d: { device_id: string }) => d.device_id === deviceId);
}

/** Moves a device's clock back: as if its last heartbeat / sync happened `minutes` ago. */
async function age(deviceId: string, { seenMinutes, syncedMinutes }: { seenMinutes?: number; syncedMinutes?: number }) {
  if (seenMinutes !== undefined)
    await db.pool.query(`UPDATE devices SET last_seen_at = now() - make_interval(mins => $2) WHERE id = $1`, [
      deviceId,
      seenMinutes,
    ]);
  if (syncedMinutes !== undefined)
    await db.pool.query(`UPDATE devices SET last_synced_at = now() - make_interval(mins => $2) WHERE id = $1`, [
      deviceId,
      syncedMinutes,
    ]);
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db);
  for (const role of ['admin', 'receptionist', 'clinicianA'] as const) {
    clients[role] = new ApiClient(server.url);
    await clients[role].login(fx.users[role].email, TEST_PASSWORD);
  }
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('POST /api/devices/heartbeat', () => {
  it('needs a session', async () => {
    const res = await new ApiClient(server.url).post('/api/devices/heartbeat', heartbeat());
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  it('stores one row per device with everything it reported, newest heartbeat winning', async () => {
    const hb = heartbeat({ outbox_pending: 3 });
    const res = await clients.clinicianA!.post('/api/devices/heartbeat', hb, { 'user-agent': 'TabletBrowser/1.0' });
    expect(res.status).toBe(204);
    const again = await clients.clinicianA!.post('/api/devices/heartbeat', { ...hb, outbox_pending: 1, online: false });
    expect(again.status).toBe(204);
    const { rows } = await db.pool.query('SELECT * FROM devices WHERE id = $1', [hb.device_id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      user_id: fx.users.clinicianA.id,
      app_version: '1.2.3',
      online: false,
      outbox_pending: 1,
      outbox_rejected: 0,
      shapes: hb.shapes,
      storage: hb.storage,
    });
    expect(rows[0].last_synced_at.toISOString()).toBe(hb.last_synced_at);
  });

  it('rejects bad input naming the fields, never a 5xx', async () => {
    const cases: Array<[unknown, string]> = [
      [{ ...heartbeat(), device_id: 'not-a-uuid' }, 'device_id'],
      [{ ...heartbeat(), outbox_pending: -1 }, 'outbox_pending'],
      [{ ...heartbeat(), outbox_rejected: 1.5 }, 'outbox_rejected'],
      [{ ...heartbeat(), online: 'yes' }, 'online'],
      [{ ...heartbeat(), last_synced_at: 'yesterday' }, 'last_synced_at'],
      [{ ...heartbeat(), shapes: { appointments: 'DROP TABLE' } }, 'shapes.appointments'],
      [{ ...heartbeat(), app_version: 'x'.repeat(65) }, 'app_version'],
      [{ ...heartbeat(), storage: { usage: -5 } }, 'storage.usage'],
      [{ ...heartbeat(), token: 'abc' }, 'token'],
      [[], ''],
    ];
    for (const [body, field] of cases) {
      const res = await clients.receptionist!.post('/api/devices/heartbeat', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(422);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain(field);
    }
    const malformed = await clients.receptionist!.post('/api/devices/heartbeat', '{"device_id":');
    expect(malformed.status).toBe(400);
  });

  it('clamps a last-synced time from a clock in the future to the server time', async () => {
    const hb = heartbeat({ last_synced_at: new Date(Date.now() + 86_400_000).toISOString() });
    await clients.receptionist!.post('/api/devices/heartbeat', hb);
    const { rows } = await db.pool.query('SELECT last_synced_at <= now() AS ok FROM devices WHERE id = $1', [
      hb.device_id,
    ]);
    expect(rows[0].ok).toBe(true);
  });
});

describe('devices on GET /api/admin/sync', () => {
  it('is for admins only', async () => {
    expect((await new ApiClient(server.url).get('/api/admin/sync')).status).toBe(401);
    expect((await clients.receptionist!.get('/api/admin/sync')).status).toBe(403);
    expect((await clients.clinicianA!.get('/api/admin/sync')).status).toBe(403);
  });

  it('shows a device that syncs as green, with its user, version and storage', async () => {
    const hb = heartbeat({ app_version: '2.0.0' });
    await clients.receptionist!.post('/api/devices/heartbeat', hb);
    const device = await adminDevice(hb.device_id);
    expect(device).toMatchObject({
      health: 'green',
      stale: false,
      reasons: [],
      app_version: '2.0.0',
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      storage: hb.storage,
      user: { id: fx.users.receptionist.id, email: fx.users.receptionist.email, role: 'receptionist' },
    });
    expect(device.behind_seconds).toBeLessThan(60);
  });

  it('turns a device that stops syncing amber, then red', async () => {
    const hb = heartbeat();
    await clients.clinicianA!.post('/api/devices/heartbeat', hb);
    expect((await adminDevice(hb.device_id)).health).toBe('green');

    // Still open and heartbeating, but its last up-to-date is 5 minutes old.
    await age(hb.device_id, { syncedMinutes: 5 });
    let device = await adminDevice(hb.device_id);
    expect(device.health).toBe('amber');
    expect(device.behind_seconds).toBeGreaterThanOrEqual(300);
    expect(device.reasons.join(' ')).toMatch(/last synced 5 min ago/);

    // 20 minutes without sync while online and in touch: sync is broken for it.
    await age(hb.device_id, { syncedMinutes: 20 });
    device = await adminDevice(hb.device_id);
    expect(device.health).toBe('red');
  });

  it('makes pending writes amber, stuck ones red, and any rejected write red', async () => {
    const pending = heartbeat({ outbox_pending: 2, online: false });
    await clients.clinicianA!.post('/api/devices/heartbeat', pending);
    let device = await adminDevice(pending.device_id);
    expect(device.health).toBe('amber');
    expect(device.reasons).toEqual(expect.arrayContaining(['2 pending writes', 'offline']));

    // The device went away 30 minutes ago with writes still in its outbox: its last known
    // count is shown with its age.
    await age(pending.device_id, { seenMinutes: 30, syncedMinutes: 30 });
    device = await adminDevice(pending.device_id);
    expect(device.health).toBe('red');
    expect(device.presence).toBe('closed');
    expect(device.reasons).toEqual(['2 pending writes as of 30 min ago', 'closed, last seen 30 min ago']);

    const rejected = heartbeat({ outbox_rejected: 1 });
    await clients.clinicianA!.post('/api/devices/heartbeat', rejected);
    device = await adminDevice(rejected.device_id);
    expect(device.health).toBe('red');
    expect(device.reasons).toContain('1 rejected write');
  });

  it('flags devices not seen for more than 24 h as stale, and a closed app with nothing pending as amber only', async () => {
    const closed = heartbeat();
    await clients.receptionist!.post('/api/devices/heartbeat', closed);
    await age(closed.device_id, { seenMinutes: 60, syncedMinutes: 60 });
    let device = await adminDevice(closed.device_id);
    expect(device.health).toBe('amber');
    expect(device.stale).toBe(false);
    // Closed, not "behind": no lag is claimed for an app that is not running.
    expect(device.presence).toBe('closed');
    expect(device.behind_seconds).toBeNull();
    expect(device.reasons).toEqual(['closed, last seen 60 min ago']);

    await age(closed.device_id, { seenMinutes: 25 * 60, syncedMinutes: 25 * 60 });
    device = await adminDevice(closed.device_id);
    expect(device.stale).toBe(true);
    const res = await clients.admin!.get('/api/admin/sync');
    expect(res.body.device_counts.stale).toBeGreaterThanOrEqual(1);
  });

  it('lists 60 devices in one answer, counted by state', async () => {
    for (let i = 0; i < 60; i++)
      await clients.receptionist!.post('/api/devices/heartbeat', heartbeat({ outbox_pending: i % 3 === 0 ? 1 : 0 }));
    const res = await clients.admin!.get('/api/admin/sync');
    expect(res.body.devices.length).toBeGreaterThanOrEqual(60);
    const counts = res.body.device_counts;
    expect(counts.green + counts.amber + counts.red).toBe(res.body.devices.length);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM devices');
    expect(res.body.devices.length).toBe(rows[0].n);
  });
});
