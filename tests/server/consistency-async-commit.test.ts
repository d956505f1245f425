// The third "fresh snapshot misses a committed row" finding of the chaos runs (docs/operations.md,
// "Fresh snapshots missing rows"). The check waited until the replication slot had confirmed
// pg_current_wal_lsn() and then read its fresh snapshots. But that function gives where the WAL
// has been *written*. A commit with synchronous_commit = off (the test cluster's setting) is
// visible at once while its commit record may still sit in the WAL buffers until the WAL writer
// writes and flushes it, and only flushed WAL goes to replication. So the slot could confirm
// that position, the fresh read rightly lacked the not yet replicated booking, and the devices
// got it a moment later: "devices hold a row a fresh snapshot lacks", with nothing wrong in the
// service. Here the WAL writer is stopped (SIGSTOP) so the write sits unflushed for as long as
// the test needs: the written position lies before its commit record, and the check's wait
// (which flushes the WAL with a commit of its own) ends only once the service has stored it.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { waitForReplication } from '../../bench/load/consistency.js';
import { adminSyncSuite } from '../setup/admin-sync-suite.js';
import { readShapeRaw } from '../setup/raw-shape.js';

const SLOT = 'consistency_async_commit_test';

const suite = adminSyncSuite(SLOT);

const lsnOf = async (sql: string) => BigInt((await suite.db.pool.query<{ lsn: string }>(sql)).rows[0]!.lsn);
const keyOf = (id: string) => `"public"."appointments"/"${id}"`;

it('waits for a write committed without flushing its WAL before the fresh snapshots are read', async (ctx) => {
  const { db, server, fx, cookie, pool } = suite;
  const { rows: writers } = await db.pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'`,
  );
  const walWriter = writers[0]?.pid;
  // Needs the WAL writer of a cluster this process may signal (the embedded one of the tests).
  try {
    if (!walWriter) throw new Error('no walwriter');
    process.kill(walWriter, 0);
  } catch {
    ctx.skip();
  }
  // The shape exists and is up to date; the service is idle.
  const before = await readShapeRaw(server.url, cookie, { table: 'appointments' });
  const id = randomUUID();
  process.kill(walWriter!, 'SIGSTOP');
  try {
    const client = await db.pool.connect();
    let commitAfter: bigint;
    try {
      await client.query('BEGIN');
      await client.query('SET LOCAL synchronous_commit = off');
      await client.query(
        `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
         VALUES ($1, $2, $3, '2035-04-02T09:00Z', '2035-04-02T09:30Z', 30)`,
        [id, fx.patients[0], fx.doctorA],
      );
      // The commit record goes after this position.
      commitAfter = BigInt(
        (await client.query<{ lsn: string }>(`SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn`)).rows[0]!.lsn,
      );
      await client.query('COMMIT');
    } finally {
      client.release();
    }
    // Committed and visible to every new snapshot of the database...
    expect((await db.pool.query('SELECT 1 FROM appointments WHERE id = $1', [id])).rowCount).toBe(1);
    // ...but its commit record lies past the written WAL, so nothing has replicated it, and a
    // fresh read rightly lacks it. The check used to wait for the slot to confirm the written
    // position and then read: a position before the commit. (Other test files share the
    // cluster: a session of theirs that flushes the WAL meanwhile replicates the row, and then
    // there is nothing to show here.)
    const early = await readShapeRaw(server.url, cookie, { table: 'appointments' });
    const written = await lsnOf(`SELECT (pg_current_wal_lsn() - '0/0')::text AS lsn`);
    expect(early.handle).toBe(before.handle);
    if (written <= commitAfter) {
      expect(early.rows.has(keyOf(id))).toBe(false);
      expect(early.global).toBeLessThan(commitAfter);
    }

    // A subset snapshot taken now sees the row; the database_lsn it reports must lie past its
    // commit, or the client retires the snapshot's xmin/xmax/xip (which filter changes the
    // subset already holds) before the commit arrives and takes that change a second time.
    const q = new URLSearchParams({
      table: 'appointments',
      offset: '-1',
      log: 'changes_only',
      subset__where: `id = '${id}'`,
    });
    const res = await fetch(`${server.url}/v1/shape?${q}`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const subset = (await res.json()) as { metadata: { database_lsn: string }; data: unknown[] };
    expect(subset.data).toHaveLength(1);
    expect(BigInt(subset.metadata.database_lsn)).toBeGreaterThan(commitAfter);

    // The check's wait flushes the WAL itself (a commit of its own with synchronous_commit on)
    // and waits for a position after every visible commit: the WAL writer is still stopped.
    expect(await waitForReplication(pool, 20_000)).toBe(true);
    const fresh = await readShapeRaw(server.url, cookie, { table: 'appointments' });
    expect(fresh.rows.has(keyOf(id))).toBe(true);
    expect(fresh.global).toBeGreaterThanOrEqual(commitAfter);
  } finally {
    process.kill(walWriter!, 'SIGCONT');
  }
});
