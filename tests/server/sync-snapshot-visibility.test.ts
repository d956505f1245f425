// Fresh snapshots against the database. PostgreSQL decodes a commit for replication once its
// WAL is flushed, and only afterwards makes it visible to new snapshots: a shape created in
// that gap takes a snapshot without the transaction although the service has already
// processed it. Here the gap is held open with a synchronous standby that never answers
// (the writer's commit is flushed and replicated, then waits). Then many shapes are created
// while writers run, each checked against the rows its own snapshot (xmin/xmax/xip) saw.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { readShapeRaw, visibleIn } from '../setup/raw-shape.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let cookie = '';
let slot = 0;

const insertSql = `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
  VALUES ($1, $2, $3, $4, $4::timestamptz + interval '5 minutes', 5)
  RETURNING pg_current_xact_id()::text AS xid`;
const args = () => [
  randomUUID(),
  fx.patients[slot % 6],
  slot % 2 ? fx.doctorA : fx.doctorB,
  new Date(Date.UTC(2034, 0, 1) + slot++ * 600_000),
];
const keyOf = (id: string) => `"public"."appointments"/"${id}"`;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  for (let i = 0; i < 50; i++) await db.pool.query(insertSql, args());
  server = await startSyncTestServer(db, 'sync_visibility_test', {
    SYNC_CLIENT_SHAPES_PER_USER: '500',
    SYNC_CLIENT_SHAPES_PER_TABLE: '500',
  });
  const api = new ApiClient(server.url);
  await api.login(fx.users.admin.email, TEST_PASSWORD);
  cookie = api.cookie;
});

afterAll(async () => {
  await setSyncStandby(null).catch(() => {});
  await server?.close();
  await db?.drop();
});

/** Names a synchronous standby (that never connects), or removes it. */
async function setSyncStandby(name: string | null) {
  await db.pool.query(
    name ? `ALTER SYSTEM SET synchronous_standby_names = '${name}'` : 'ALTER SYSTEM RESET synchronous_standby_names',
  );
  await db.pool.query('SELECT pg_reload_conf()');
}

// The test cluster commits with synchronous_commit=off, so only a session that turns it on
// waits for the standby; against a server where others wait too the first test is skipped.
const othersDoNotWait = async () =>
  (await db.pool.query<{ v: string }>(`SELECT current_setting('synchronous_commit') AS v`)).rows[0]!.v === 'off';

it('a commit replicated before it is visible reaches a shape whose snapshot missed it', async (ctx) => {
  if (!(await othersDoNotWait())) ctx.skip();
  // An existing shape: it shows when the held transaction has been processed.
  const before = await readShapeRaw(server.url, cookie, { table: 'appointments' });
  const shapeId = server.sync.registry.byHandle.get(before.handle)!.id;

  await setSyncStandby('never_connects');
  const writer = new pg.Client({ connectionString: db.url });
  await writer.connect();
  writer.on('error', () => {});
  let held: { id: string; commit: Promise<unknown> } | undefined;
  try {
    const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await writer.query('SET synchronous_commit = on');
    // The standby setting reaches the backends a moment after the reload: write until a
    // commit is seen waiting for it.
    await waitFor(
      async () => {
        if (!held) {
          const a = args();
          held = { id: a[0] as string, commit: writer.query(insertSql, a).catch((e: Error) => e) };
        }
        const { rows } = await db.pool.query<{ w: string | null }>(
          'SELECT wait_event AS w FROM pg_stat_activity WHERE pid = $1',
          [pid],
        );
        if (rows[0]?.w === 'SyncRep') return true;
        const settled = await Promise.race([held.commit.then(() => true), new Promise((r) => setTimeout(r, 50))]);
        if (settled) held = undefined; // committed before the setting applied: try again
        return false;
      },
      20_000,
      'a commit waiting for the synchronous standby',
    );
    const { id } = held!;
    // Replicated and stored for the existing shape, yet invisible to a new snapshot.
    await waitFor(
      async () =>
        (await db.pool.query('SELECT 1 FROM sync_shape_log WHERE shape_id = $1 AND body LIKE $2', [shapeId, `%${id}%`]))
          .rowCount === 1,
      20_000,
      'the held transaction in the existing shape',
    );
    expect((await db.pool.query('SELECT 1 FROM appointments WHERE id = $1', [id])).rowCount).toBe(0);

    // A new shape (a client-narrowed definition) takes its snapshot now.
    const params = { table: 'appointments', where: 'duration_minutes > 0' };
    const first = await readShapeRaw(server.url, cookie, params);
    expect(first.snapshotKeys.has(keyOf(id))).toBe(false);

    await setSyncStandby(null);
    await held!.commit;
    expect((await db.pool.query('SELECT 1 FROM appointments WHERE id = $1', [id])).rowCount).toBe(1);
    // Nothing else changed: a fresh client of the new shape must have the row, once.
    const fresh = await readShapeRaw(server.url, cookie, params);
    expect(fresh.handle).toBe(first.handle);
    expect(fresh.rows.has(keyOf(id))).toBe(true);
    expect(fresh.duplicateInserts).toEqual([]);
    const all = await db.pool.query<{ id: string }>('SELECT id FROM appointments WHERE deleted_at IS NULL');
    expect([...fresh.rows.keys()].sort()).toEqual(all.rows.map((r) => keyOf(r.id)).sort());
  } finally {
    await setSyncStandby(null);
    await held?.commit;
    await writer.end();
  }
});

it('fresh snapshots taken while writers run hold exactly what their snapshot saw, and the log the rest', async () => {
  const written: Array<{ id: string; xid: bigint; committedBy: bigint }> = [];
  const preexisting = new Set(
    (await db.pool.query<{ id: string }>('SELECT id FROM appointments')).rows.map((r) => keyOf(r.id)),
  );
  let writing = true;
  const writers = [0, 1].map(async () => {
    while (writing) {
      const a = args();
      const { rows } = await db.pool.query<{ xid: string }>(insertSql, a);
      // A WAL position after the commit: an up-to-date claiming at least this must include it.
      const after = await db.pool.query<{ lsn: string }>(`SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn`);
      written.push({ id: keyOf(a[0] as string), xid: BigInt(rows[0]!.xid), committedBy: BigInt(after.rows[0]!.lsn) });
    }
  });
  const reads = [];
  try {
    // Each a new definition, so each takes its own snapshot in the middle of the writes.
    for (let i = 0; i < 25; i++)
      reads.push(
        await readShapeRaw(server.url, cookie, { table: 'appointments', where: `duration_minutes <> ${1000 + i}` }),
      );
  } finally {
    writing = false;
    await Promise.all(writers);
  }
  const all = new Set([...preexisting, ...written.map((w) => w.id)]);
  let checkedAfterSnapshot = 0;
  for (const read of reads) {
    const snap = read.snapshotEnd!;
    const sawInSnapshot = new Set([...preexisting, ...written.filter((w) => visibleIn(w.xid, snap)).map((w) => w.id)]);
    expect([...read.snapshotKeys].sort()).toEqual([...sawInSnapshot].sort());
    expect(read.duplicateInserts).toEqual([]);
    for (const key of read.rows.keys()) expect(all.has(key)).toBe(true);
    // Everything committed at or before what the up-to-date claims is there.
    for (const w of written.filter((w) => w.committedBy <= read.global)) {
      expect(read.rows.has(w.id), `${w.id} committed by ${w.committedBy} ≤ ${read.global}`).toBe(true);
      if (!sawInSnapshot.has(w.id)) checkedAfterSnapshot++;
    }
  }
  // The check covered rows that came through the log, not only through snapshots.
  expect(written.length).toBeGreaterThan(0);
  expect(checkedAfterSnapshot).toBeGreaterThan(0);
});
