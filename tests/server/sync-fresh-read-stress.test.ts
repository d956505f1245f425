// Fresh reads (offset=-1) under concurrent writers, each against the database at a known WAL
// point: the reproduction attempt for "a fresh snapshot misses a committed row" on the service
// side. Six writers commit transactions that insert and update, some holding their transaction
// open a moment (so commits land in another order than they began), half of them with
// synchronous_commit off (visible before their WAL is written) and half on. Meanwhile new
// shapes are created one after the other and the existing one is read from scratch; before
// each read the database is read in one snapshot and the check waits until replication has
// passed every commit visible to it (bench/load/consistency.ts). Every row of that database
// read must be in the fresh read at its version or a later one, and every write the read's
// up-to-date covers must be there too.
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { waitForReplication } from '../../bench/load/consistency.js';
import { adminSyncSuite } from '../setup/admin-sync-suite.js';
import { readShapeRaw, type RawShapeRead } from '../setup/raw-shape.js';

let slot = 0;

const keyOf = (id: string) => `"public"."appointments"/"${id}"`;

const suite = adminSyncSuite('sync_fresh_read_stress', {
  SYNC_CLIENT_SHAPES_PER_USER: '500',
  SYNC_CLIENT_SHAPES_PER_TABLE: '500',
});

interface Write {
  key: string;
  version: number;
  /** A WAL position after the commit: an up-to-date claiming at least this must include it. */
  committedBy: bigint;
}

/** One writer transaction: an insert, often an update of an earlier row, sometimes a pause. */
async function writeOnce(n: number, known: string[]): Promise<Write[]> {
  const { db, fx } = suite;
  const client = await db.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL synchronous_commit = ${n % 2 ? 'on' : 'off'}`);
    const id = randomUUID();
    const at = new Date(Date.UTC(2036, 0, 1) + slot++ * 600_000);
    await client.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
       VALUES ($1, $2, $3, $4, $4::timestamptz + interval '5 minutes', 5)`,
      [id, fx.patients[slot % 6], slot % 2 ? fx.doctorA : fx.doctorB, at],
    );
    const out: Array<{ key: string; version: number }> = [{ key: keyOf(id), version: 1 }];
    if (known.length && n % 3 === 0) {
      const target = known[n % known.length]!;
      const { rows } = await client.query<{ version: number }>(
        `UPDATE appointments SET version = version + 1, reason = $2 WHERE id = $1 RETURNING version`,
        [target, `touched ${n}`],
      );
      if (rows[0]) out.push({ key: keyOf(target), version: rows[0].version });
    }
    // Held open a moment now and then: a transaction that began later commits first.
    if (n % 4 === 1) await client.query('SELECT pg_sleep(0.02)');
    await client.query('COMMIT');
    known.push(id);
    const { rows } = await client.query<{ lsn: string }>(`SELECT (pg_current_wal_insert_lsn() - '0/0')::text AS lsn`);
    return out.map((w) => ({ ...w, committedBy: BigInt(rows[0]!.lsn) }));
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

it('fresh reads of new and existing shapes hold every row committed before them while writers run', async () => {
  const { db, server, cookie, pool } = suite;
  const written: Write[] = [];
  const known: string[] = [];
  let writing = true;
  let n = 0;
  const writers = Array.from({ length: 6 }, async () => {
    while (writing) written.push(...(await writeOnce(n++, known)));
  });
  const checks: Array<{ read: RawShapeRead; before: Map<string, number>; caughtUp: boolean }> = [];
  try {
    for (let i = 0; i < 10; i++) {
      const { rows } = await db.pool.query<{ id: string; version: number }>(
        'SELECT id::text, version FROM appointments WHERE deleted_at IS NULL',
      );
      const before = new Map(rows.map((r) => [keyOf(r.id), r.version]));
      const caughtUp = await waitForReplication(pool, 30_000);
      // Every other read creates a shape (a new client-narrowed definition, its snapshot taken
      // now, amid the writes); the others read the shape every admin shares from scratch.
      const params: Record<string, string> =
        i % 2 ? { table: 'appointments', where: `duration_minutes <> ${2000 + i}` } : { table: 'appointments' };
      checks.push({ read: await readShapeRaw(server.url, cookie, params), before, caughtUp });
    }
  } finally {
    writing = false;
    await Promise.all(writers);
  }
  const { rows: all } = await db.pool.query<{ id: string }>('SELECT id::text FROM appointments');
  const existing = new Set(all.map((r) => keyOf(r.id)));
  let coveredWrites = 0;
  for (const [i, { read, before, caughtUp }] of checks.entries()) {
    expect(caughtUp, `read ${i}: replication caught up`).toBe(true);
    expect(read.duplicateInserts, `read ${i}`).toEqual([]);
    for (const key of read.rows.keys()) expect(existing.has(key), `read ${i}: ${key} exists`).toBe(true);
    for (const [key, version] of before) {
      const got = Number(read.rows.get(key)?.version ?? 0);
      expect(got, `read ${i}: ${key} (version ${version} before the read)`).toBeGreaterThanOrEqual(version);
    }
    for (const w of written.filter((w) => w.committedBy <= read.global)) {
      const got = Number(read.rows.get(w.key)?.version ?? 0);
      expect(
        got,
        `read ${i}: ${w.key} v${w.version} committed by ${w.committedBy} ≤ ${read.global}`,
      ).toBeGreaterThanOrEqual(w.version);
      coveredWrites++;
    }
  }
  // The writes were really concurrent with the reads: many commits, and reads covering them.
  expect(written.length).toBeGreaterThan(50);
  expect(coveredWrites).toBeGreaterThan(0);
});
