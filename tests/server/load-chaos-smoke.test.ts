// CI-sized runs of `npm run load` and `npm run chaos` (the full ones are benchmarks): a few
// devices on live shapes and a few staff against the in-process server, then the chaos
// scenarios that need no process of their own (a lossy link between the devices and the
// server, a device clock an hour ahead), each ending with the consistency check. No timing is
// asserted. (The scenarios that kill processes run in `npm run chaos`.)
import { afterAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../bench/chaos/scenarios.js';
import { runLoad } from '../../bench/load/load.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture } from '../setup/fixtures.js';
import { startSyncTestServer, type SyncTestServer } from '../setup/sync.js';

// Each run gets a database and server of its own: one run's rows are not the next one's.
let db: TestDatabase;
let server: SyncTestServer;
async function fresh(slot: string) {
  await server?.close();
  await db?.drop();
  db = await createTestDatabase();
  await createFixture(db.pool, { patients: 40 });
  server = await startSyncTestServer(db, slot);
}
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('load (CI size)', () => {
  it('devices and staff run, every op is answered as expected and the devices match the server', async () => {
    await fresh('load_smoke');
    const report = await runLoad({
      url: server.url,
      pgUrl: db.url,
      devices: 4,
      staff: 3,
      seconds: 4,
      rampSeconds: 0,
      thinkMs: [50, 200],
      serverPid: () => process.pid,
      origin: 'http://clinic.test',
    });
    expect(report.devices_up_to_date).toBe(4);
    const ops = Object.values(report.operations);
    expect(ops.reduce((n, o) => n + o.count, 0)).toBeGreaterThan(0);
    expect(
      ops.reduce((n, o) => n + o.errors, 0),
      JSON.stringify(report.operations),
    ).toBe(0);
    expect(report.consistency, JSON.stringify(report.consistency)).toMatchObject({
      ok: true,
      devices_differing: 0,
      snapshots_differing_from_database: 0,
    });
  });
});

describe('chaos (CI size)', () => {
  for (const name of ['lossy-link', 'clock-skew'] as const) {
    it(`${name}: acknowledged writes kept once, devices equal a fresh snapshot, audit chain intact`, async () => {
      await fresh(`chaos_smoke_${name.replace('-', '_')}`);
      const report = await runScenario(
        name,
        { url: server.url, pgUrl: db.url, origin: 'http://clinic.test' },
        { writers: 2, devices: 3, seconds: 6, settleMs: 20_000 },
      );
      const why = JSON.stringify(report);
      expect(report.storm.acknowledged, why).toBeGreaterThan(0);
      expect(report.consistency.missing_writes, why).toEqual([]);
      expect(report.consistency.audit_chain_ok, why).toBe(true);
      expect(
        report.notes.filter((n) => n.includes('FAILED')),
        why,
      ).toEqual([]);
      // Every live device equals a fresh snapshot of its shapes, and each fresh snapshot the
      // database (read once replication has passed every commit: docs/operations.md).
      expect(report.consistency, why).toMatchObject({
        ok: true,
        devices_differing: 0,
        snapshots_differing_from_database: 0,
      });
    });
  }
});
