// CI-sized runs of `npm run load` and `npm run chaos` (the full ones are benchmarks): a few
// devices on live shapes and a few staff against the in-process server, then the chaos
// scenarios that need no process of their own (a lossy link, a device clock an hour ahead),
// each ending with the consistency check. No timing is asserted. (The walsender scenario runs
// in `npm run chaos`; see docs/operations.md for its status.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../bench/chaos/scenarios.js';
import { runLoad } from '../../bench/load/load.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture } from '../setup/fixtures.js';
import { startSyncTestServer, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
beforeAll(async () => {
  db = await createTestDatabase();
  await createFixture(db.pool, { patients: 40 });
  server = await startSyncTestServer(db, 'load_chaos_smoke');
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('load (CI size)', () => {
  it('devices and staff run, every op is answered as expected and the devices match the server', async () => {
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
    expect(report.consistency, JSON.stringify(report.consistency)).toMatchObject({ ok: true, devices_differing: 0 });
  });
});

describe('chaos (CI size)', () => {
  for (const name of ['lossy-link', 'clock-skew'] as const) {
    it(`${name}: acknowledged writes kept once, devices equal the server, audit chain intact`, async () => {
      const report = await runScenario(
        name,
        { url: server.url, pgUrl: db.url, origin: 'http://clinic.test' },
        { writers: 2, devices: 3, seconds: 6 },
      );
      expect(report.ok, JSON.stringify(report)).toBe(true);
      expect(report.storm.acknowledged, JSON.stringify(report)).toBeGreaterThan(0);
    });
  }
});
