// The admin sync page and /metrics with the real sync service running: its shapes appear, a
// booking's write-to-sync latency is measured, a device's offsets turn into "behind by", and
// stopping the service makes replication lag appear until a new one catches up.
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicationSampler } from '../../server/observability/sampler.js';
import { startClinicSync } from '../../server/clinic-sync/start.js';
import type { SyncEngine } from '../../server/sync/engine.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

const SLOT = `adminsync_${randomBytes(4).toString('hex')}`;
let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let admin: ApiClient;
let reception: ApiClient;
let sampler: ReplicationSampler;
let restarted: SyncEngine | undefined;

async function status() {
  const res = await admin.get('/api/admin/sync');
  expect(res.status).toBe(200);
  return res.body;
}

function mondayAt(hour: number): string {
  const d = new Date();
  d.setUTCDate(d.getUTCDate() + 7 + ((8 - d.getUTCDay()) % 7));
  d.setUTCHours(hour, 0, 0, 0);
  return d.toISOString();
}

async function book(hour: number, patient: string) {
  const res = await reception.post('/api/appointments', {
    id: randomUUID(),
    patient_id: patient,
    doctor_id: fx.doctorA,
    starts_at: mondayAt(hour),
    duration_minutes: 30,
    urgency: 'routine',
  });
  expect(res.status).toBe(201);
  return res.body.txid as number;
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startSyncTestServer(db, SLOT);
  sampler = new ReplicationSampler({ pool: db.pool, slotName: SLOT, intervalMs: 60_000 });
  server.deps.replicationSampler = sampler;
  admin = new ApiClient(server.url);
  await admin.login(fx.users.admin.email, TEST_PASSWORD);
  reception = new ApiClient(server.url);
  await reception.login(fx.users.receptionist.email, TEST_PASSWORD);
});
afterAll(async () => {
  await restarted?.stop();
  await sampler?.stop();
  await server?.close();
  await db?.drop();
});

describe('admin sync page with the sync service', () => {
  it('shows the shapes, latency and how far a device is behind', async () => {
    const first = await reception.get('/v1/shape?table=appointments&offset=-1');
    expect(first.status).toBe(200);
    const handle = first.headers.get('electric-handle')!;
    const offsetBefore = first.headers.get('electric-offset')!;

    let body = await status();
    expect(body.shapes_source).toBe('sync-service');
    expect(body.replication).toMatchObject({ slot_name: SLOT, exists: true, active: true });
    expect(body.replication.warnings.join(' ')).not.toMatch(/no consumer/);
    const shape = body.shapes.find((s: { handle: string }) => s.handle === handle);
    expect(shape).toMatchObject({ table: 'appointments', live_requests: 0 });
    // In words for the admin: the role and the window, no SQL.
    expect(shape.description).toMatch(/^Receptionist · all doctors · from \w{3}, \d{1,2} \w{3} \d{4} on$/);

    await sampler.sample();
    await book(10, fx.patients[0]!);
    await waitFor(
      async () =>
        (await status()).shapes.find((s: { handle: string }) => s.handle === handle)?.last_offset !== shape.last_offset,
      15_000,
      'the booking in the shape log',
    );
    await sampler.sample();
    expect(sampler.history().at(-1)!.sync_latency_p50_ms).not.toBeNull();

    body = await status();
    const newest = body.shapes.find((s: { handle: string }) => s.handle === handle).last_offset as string;
    const device = {
      device_id: randomUUID(),
      app_version: '1',
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      last_synced_at: new Date().toISOString(),
      storage: {},
    };
    await reception.post('/api/devices/heartbeat', { ...device, shapes: { appointments: offsetBefore } });
    let seen = (await status()).devices.find((d: { device_id: string }) => d.device_id === device.device_id);
    expect(seen.behind_bytes).toBeGreaterThan(0);
    await reception.post('/api/devices/heartbeat', { ...device, shapes: { appointments: newest } });
    seen = (await status()).devices.find((d: { device_id: string }) => d.device_id === device.device_id);
    expect(seen.behind_bytes).toBe(0);

    const metrics = (await admin.get('/metrics')).body as string;
    expect(Number(/^clinic_sync_write_to_log_seconds_count (\d+)$/m.exec(metrics)![1])).toBeGreaterThanOrEqual(1);
    expect(metrics).toMatch(/^clinic_sync_shape_log_bytes\{table="appointments"\} \d+/m);
    expect(metrics).toMatch(/^clinic_sync_live_requests\{table="appointments"\} 0$/m);
    expect(metrics).toMatch(/^clinic_replication_slot_active 1$/m);
  });

  it('shows replication lag while the sync service is stopped and ~0 once a new one caught up', async () => {
    await server.sync.stop();
    await waitFor(async () => !(await status()).replication.active, 15_000, 'slot inactive');
    const before = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    for (let i = 0; i < 3; i++) await book(11 + i, fx.patients[1 + i]!);
    // The last write commits synchronously, so the WAL before it is written out (the test
    // cluster runs with synchronous_commit=off) and pg_current_wal_lsn() has moved past it.
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL synchronous_commit = on');
      await client.query(
        `UPDATE patients SET phone = '+1-555-999-' || lpad((random() * 9999)::int::text, 4, '0') WHERE id = ANY($1::uuid[])`,
        [fx.patients],
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    const { rows } = await db.pool.query<{ bytes: number }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS bytes',
      [before.rows[0]!.lsn],
    );
    const written = Number(rows[0]!.bytes);
    expect(written).toBeGreaterThan(0);
    const behind = (await status()).replication;
    expect(behind.active).toBe(false);
    // (The consumer may have confirmed a byte past the last position it saw.)
    expect(behind.lag_bytes).toBeGreaterThan(written / 2);
    expect(behind.warnings.join(' ')).toMatch(/no consumer is attached/);
    const metrics = (await admin.get('/metrics')).body as string;
    expect(metrics).toMatch(/^clinic_replication_slot_active 0$/m);

    restarted = await startClinicSync(server.deps);
    const caughtUp = await waitFor(
      async () => {
        const r = (await status()).replication;
        return r.active && r.lag_bytes < Math.max(written / 4, 1);
      },
      30_000,
      'replication lag back to ~0',
    ).then(() => status());
    expect(caughtUp.replication.active).toBe(true);
    expect(caughtUp.replication.lag_bytes).toBeLessThan(behind.lag_bytes);
  });
});
