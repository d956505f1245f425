// The load/chaos consistency check against replication lag (the "fresh snapshot misses
// committed rows" finding of the chaos runs). With the service's next batch held back, a fresh
// read of a shape lacks the newest write, and that is right: its up-to-date claims an LSN
// below the write's commit. The check used to read its expected rows at that moment and then
// found live devices (which get the write later) "holding rows a fresh snapshot lacks"; it now
// waits for replication to catch up first.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { checkConsistency } from '../../bench/load/consistency.js';
import { Fleet } from '../../bench/load/devices.js';
import { adminSyncSuite } from '../setup/admin-sync-suite.js';
import { readShapeRaw } from '../setup/raw-shape.js';
import { waitFor } from '../setup/sync.js';

const SLOT = 'consistency_check_test';

const suite = adminSyncSuite(SLOT);

it('a fresh read during replication lag claims nothing it lacks, and the check waits for replication', async () => {
  const { db, server, fx, cookie, pool } = suite;
  const specs = [{ cookie, tables: ['appointments'], scope: 'admin:' }];
  const fleet = new Fleet();
  await fleet.start(server.url, specs, 0);
  const blocker = await db.pool.connect();
  try {
    await waitFor(() => fleet.upToDate() === 1, 20_000, 'the device up to date');
    // Hold the service's next batch: storing it updates this row.
    await blocker.query('BEGIN');
    await blocker.query('SELECT 1 FROM sync_state WHERE slot_name = $1 FOR UPDATE', [SLOT]);
    const before = await db.pool.query<{ lsn: string }>(`SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn`);
    const id = randomUUID();
    await db.pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
       VALUES ($1, $2, $3, '2034-03-01T09:00Z', '2034-03-01T09:30Z', 30)`,
      [id, fx.patients[0], fx.doctorA],
    );
    await waitFor(
      async () =>
        (
          await db.pool.query(
            `SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
               AND query LIKE 'UPDATE sync_state%'`,
          )
        ).rowCount === 1,
      20_000,
      'the batch with the write waiting',
    );

    // Committed in the database, not yet stored by the service: a fresh read lacks it, and
    // its up-to-date does not claim the write's commit (which lies after `before`).
    const lagging = await readShapeRaw(server.url, cookie, { table: 'appointments' });
    expect(lagging.rows.has(`"public"."appointments"/"${id}"`)).toBe(false);
    expect(lagging.global).toBeLessThan(BigInt(before.rows[0]!.lsn));

    let settled = false;
    const check = checkConsistency({
      pool,
      url: server.url,
      acknowledged: [{ op: 'book', id }],
      specs,
      digests: async () => fleet.digests(),
      settleMs: 30_000,
    }).finally(() => (settled = true));
    // While replication is held the check waits instead of reading its expected rows.
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled).toBe(false);
    await blocker.query('COMMIT');
    const report = await check;
    expect(report, JSON.stringify(report)).toMatchObject({ ok: true, missing_writes: [], devices_differing: 0 });
    expect(fleet.digests()[0]!.appointments!.count).toBe(1);
  } finally {
    await blocker.query('ROLLBACK').catch(() => {});
    blocker.release();
    fleet.stop();
  }
});
