// The replication panel reads the real slot from PostgreSQL: with a real logical replication
// consumer (pgoutput over the replication protocol) attached, lag stays near zero; when the
// consumer pauses and writes go on, lag appears on the page, the chart and /metrics; when it
// resumes, lag goes back to about zero.
import { randomBytes } from 'node:crypto';
import { LogicalReplicationService, PgoutputPlugin } from 'pg-logical-replication';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReplicationSampler } from '../../server/observability/sampler.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

const SLOT = `lagtest_${randomBytes(4).toString('hex')}`;
let db: TestDatabase;
let server: TestServer;
let admin: ApiClient;
let sampler: ReplicationSampler;
let consumer: LogicalReplicationService | undefined;

function startConsumer() {
  const service = new LogicalReplicationService({ connectionString: db.url, replication: 'database' } as never, {
    acknowledge: { auto: true, timeoutSeconds: 1 },
  });
  service.on('error', () => {});
  void service
    .subscribe(new PgoutputPlugin({ protoVersion: 1, publicationNames: ['clinic_sync'] }), SLOT)
    .catch(() => {});
  consumer = service;
}

async function stopConsumer() {
  await consumer?.stop();
  consumer = undefined;
}

async function replication() {
  const res = await admin.get('/api/admin/sync');
  expect(res.status).toBe(200);
  return res.body.replication;
}

async function waitFor<T>(read: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  const fx = await createFixture(db.pool);
  await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [SLOT]);
  sampler = new ReplicationSampler({ pool: db.pool, slotName: SLOT, intervalMs: 60_000 });
  server = await startTestServer(db, { SYNC_SLOT_NAME: SLOT }, (deps) => ({ ...deps, replicationSampler: sampler }));
  admin = new ApiClient(server.url);
  await admin.login(fx.users.admin.email, TEST_PASSWORD);
});
afterAll(async () => {
  await stopConsumer();
  await sampler?.stop();
  await server?.close();
  await db?.drop();
});

describe('replication panel', () => {
  it('reports a missing slot clearly', async () => {
    const other = await startTestServer(db, { SYNC_SLOT_NAME: 'no_such_slot_here' });
    try {
      const client = new ApiClient(other.url);
      await client.login('admin@test.clinic', TEST_PASSWORD);
      const res = await client.get('/api/admin/sync');
      expect(res.body.replication).toMatchObject({ exists: false, active: false, lag_bytes: null });
      expect(res.body.replication.warnings[0]).toMatch(/does not exist/);
      expect(res.body.shapes).toEqual([]);
      expect(res.body.shapes_source).toBe('unavailable');
    } finally {
      await other.close();
    }
  });

  it('shows lag when the consumer pauses and about zero again when it resumes', async () => {
    startConsumer();
    const caughtUp = await waitFor(
      replication,
      (r) => r.active && r.lag_bytes < 256 * 1024,
      'consumer attached and caught up',
    );
    expect(caughtUp.slot_name).toBe(SLOT);
    expect(caughtUp.confirmed_flush_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    await stopConsumer();
    await waitFor(replication, (r) => !r.active, 'consumer detached');
    await sampler.sample();
    const before = await db.pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    await db.pool.query(
      `INSERT INTO patients (full_name, date_of_birth, mrn)
       SELECT 'Lag Patient ' || i, date '1990-01-01', 'LAG' || i FROM generate_series(1, 15000) i`,
    );
    const written = await db.pool.query<{ bytes: number }>(
      'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1)::bigint AS bytes',
      [before.rows[0]!.lsn],
    );
    const writtenBytes = Number(written.rows[0]!.bytes);
    expect(writtenBytes).toBeGreaterThan(1024 * 1024);
    await sampler.sample();

    const behind = await replication();
    expect(behind.active).toBe(false);
    expect(behind.lag_bytes).toBeGreaterThanOrEqual(writtenBytes);
    expect(behind.lag_seconds).toBeGreaterThan(0);
    expect(behind.retained_wal_bytes).toBeGreaterThanOrEqual(behind.lag_bytes);
    expect(behind.warnings.join(' ')).toMatch(/no consumer is attached/);
    const page = await admin.get('/api/admin/sync');
    const last = page.body.history.at(-1);
    expect(last.lag_bytes).toBeGreaterThanOrEqual(writtenBytes);
    expect(last.slot_active).toBe(false);
    const metrics = await admin.get('/metrics');
    const lagLine = /^clinic_replication_lag_bytes (\d+)$/m.exec(metrics.body as string);
    expect(Number(lagLine![1])).toBeGreaterThanOrEqual(writtenBytes);

    startConsumer();
    const resumed = await waitFor(
      replication,
      (r) => r.active && r.lag_bytes < Math.min(256 * 1024, writtenBytes / 4),
      'lag back to ~0',
    );
    expect(resumed.lag_bytes).toBeLessThan(writtenBytes / 4);
    await sampler.sample();
    expect(sampler.history().at(-1)!.lag_bytes).toBeLessThan(writtenBytes);
  });
});
