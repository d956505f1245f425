// The end-of-run checks of the load and chaos suites: every acknowledged (2xx) write is in the
// database exactly once, every live device holds exactly the rows the server would give it
// now (a fresh snapshot of the same shapes with the same session), and the audit chain verifies.
//
// "Now" means once the sync service has caught up with the database: a fresh read's up-to-date
// covers what the service has stored (its global_last_seen_lsn), not every commit so far, and
// right after a storm on a loaded machine replication lags behind by the last writes. A fresh
// read taken then rightly lacks them while the devices, which keep syncing, get them later;
// comparing the two made the check report devices with rows "missing from a fresh snapshot".
import { isChangeMessage, isControlMessage, ShapeStream, type Message, type Row } from '@electric-sql/client';
import type pg from 'pg';
import { verifyAuditChain } from '../../server/audit/verify.js';
import { digestOf, type DeviceSpec, type Digest } from './devices.js';

export interface ConsistencyReport {
  ok: boolean;
  acknowledged_writes: number;
  missing_writes: string[];
  devices_checked: number;
  devices_differing: number;
  /** Fresh snapshots (one per scope) that lack an acknowledged booking or hold a row unlike the database's. */
  snapshots_differing_from_database: number;
  audit_chain_ok: boolean;
  audit_rows_checked: number;
  notes: string[];
}

/**
 * The rows a fresh client with this session gets for `table`, as a digest; a server that
 * cannot answer within `timeoutMs` gives an empty digest (the check then fails, not hangs).
 */
export async function snapshotDigest(url: string, cookie: string, table: string, timeoutMs = 60_000): Promise<Digest> {
  return digestOf(await snapshotRows(url, cookie, table, timeoutMs));
}

/** The rows (id → version) a fresh client with this session gets for `table`, to its first up-to-date. */
async function snapshotRows(
  url: string,
  cookie: string,
  table: string,
  timeoutMs: number,
): Promise<Map<string, string>> {
  const rows = new Map<string, string>();
  const controller = new AbortController();
  const stream = new ShapeStream<Row>({
    url: `${url}/v1/shape`,
    params: { table } as never,
    signal: controller.signal,
    fetchClient: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('cookie', cookie);
      return fetch(input, { ...init, headers });
    },
    onError: () => ({}),
  });
  await new Promise<void>((resolve) => {
    setTimeout(() => {
      rows.clear();
      rows.set('(no snapshot in time)', '');
      resolve();
    }, timeoutMs).unref();
    const unsubscribe = stream.subscribe((messages: Message<Row>[]) => {
      for (const m of messages) {
        if (isChangeMessage(m)) {
          const id = String(m.value.id);
          if (m.headers.operation === 'delete') rows.delete(id);
          else rows.set(id, String(m.value.version ?? m.value.updated_at ?? rows.get(id) ?? ''));
        } else if (isControlMessage(m) && m.headers.control === 'up-to-date') {
          unsubscribe();
          resolve();
        }
      }
    });
  });
  controller.abort();
  return rows;
}

/**
 * Waits until the sync service has stored everything committed before this call: its
 * replication slot's confirmed position (the service confirms only what it has stored, and a
 * keepalive once it is idle) passes every commit visible now. False on timeout.
 */
export async function waitForReplication(pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  const target = await positionAfterVisibleCommits(pool);
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { rows: slots } = await pool.query<{ caught_up: boolean }>(
      `SELECT count(*) > 0 AND bool_and(confirmed_flush_lsn >= $1::pg_lsn) AS caught_up
         FROM pg_replication_slots WHERE database = current_database() AND plugin = 'pgoutput' AND active`,
      [target],
    );
    if (slots[0]!.caught_up) return true;
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A WAL position past the commit record of every transaction visible now, and flushed, so
 * replication can reach it. Not pg_current_wal_lsn(): that is where WAL has been *written*, and
 * a commit made with synchronous_commit = off (the test cluster's setting; the app's audited
 * reads) is visible before the WAL writer writes its record, which then lies past it, and only
 * flushed WAL is replicated. Waiting for that position let fresh snapshots be read before the
 * last bookings had replicated (docs/operations.md, "Fresh snapshots missing rows"). Instead a
 * transaction of our own takes the insert position (every visible commit's record lies before
 * it) and commits with a local flush, which writes out the WAL up to its own commit record.
 */
async function positionAfterVisibleCommits(pool: pg.Pool): Promise<string> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SET LOCAL synchronous_commit = local');
    const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    // PostgreSQL flushes at commit only for a transaction that wrote WAL: a transactional
    // logical message is a WAL record and touches no table (pgoutput does not pass it on).
    await client.query(`SELECT pg_logical_emit_message(true, 'consistency-check', '')`);
    await client.query('COMMIT');
    return rows[0]!.lsn;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

export async function checkConsistency(opts: {
  pool: pg.Pool;
  url: string;
  acknowledged: Array<{ op: string; id: string }>;
  specs: DeviceSpec[];
  /** The devices' digests now (re-read until they settle or the time is up). */
  digests: () => Promise<Array<Record<string, Digest>>>;
  settleMs?: number;
}): Promise<ConsistencyReport> {
  const notes: string[] = [];
  const created = [
    ...new Set(opts.acknowledged.filter((w) => w.op === 'book' || w.op === 'reschedule').map((w) => w.id)),
  ];
  const { rows } = await opts.pool.query<{ id: string; n: number }>(
    `SELECT id::text, count(*)::int AS n FROM appointments WHERE id = ANY($1::uuid[]) GROUP BY id`,
    [created],
  );
  const present = new Map(rows.map((r) => [r.id, r.n]));
  const missing = created.filter((id) => present.get(id) !== 1);

  // Expected digests: one fresh snapshot per scope (role and doctor), with a session of it,
  // taken once the service has stored every write made so far.
  if (!(await waitForReplication(opts.pool, opts.settleMs ?? 30_000)))
    notes.push('replication had not caught up with the database when the fresh snapshots were read');
  const expected = new Map<string, Record<string, Digest>>();
  let snapshotsOff = 0;
  for (const spec of opts.specs) {
    if (expected.has(spec.scope)) continue;
    const e: Record<string, Digest> = {};
    for (const t of spec.tables) {
      const fresh = await snapshotRows(opts.url, spec.cookie, t, 60_000);
      e[t] = digestOf(fresh);
      if (t !== 'appointments') continue;
      const off = await appointmentsUnlikeDatabase(opts.pool, spec.scope, fresh, created);
      if (off.length) {
        snapshotsOff++;
        notes.push(`fresh snapshot (${spec.scope.split(':')[0]}) appointments unlike the database: ${off.join('; ')}`);
      }
    }
    expected.set(spec.scope, e);
  }
  const differing = (actual: Array<Record<string, Digest>>) =>
    opts.specs.filter((spec, i) => spec.tables.some((t) => actual[i]?.[t]?.hash !== expected.get(spec.scope)![t]!.hash))
      .length;
  let bad = differing(await opts.digests());
  const until = Date.now() + (opts.settleMs ?? 30_000);
  while (bad > 0 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 500));
    bad = differing(await opts.digests());
  }
  if (bad) {
    notes.push(`${bad} device(s) still differ from a fresh snapshot after settling`);
    const actual = await opts.digests();
    opts.specs.forEach((spec, i) => {
      for (const t of spec.tables) {
        const want = expected.get(spec.scope)![t]!;
        const got = actual[i]?.[t];
        if (got?.hash !== want.hash && notes.length < 6)
          notes.push(
            `device ${i} (${spec.scope.split(':')[0]}) ${t}: holds ${got?.count} rows, the server gives ${want.count}`,
          );
      }
    });
  }
  const audit = await verifyAuditChain(opts.pool as never);
  return {
    ok: missing.length === 0 && bad === 0 && snapshotsOff === 0 && audit.ok,
    acknowledged_writes: opts.acknowledged.length,
    missing_writes: missing.slice(0, 20),
    devices_checked: opts.specs.length,
    devices_differing: bad,
    snapshots_differing_from_database: snapshotsOff,
    audit_chain_ok: audit.ok,
    audit_rows_checked: (audit as { checked?: number }).checked ?? 0,
    notes,
  };
}

/**
 * A fresh appointments snapshot of a scope (`role:doctor`) against the database itself, read
 * after replication has caught up: it must hold every acknowledged booking still live there
 * (a clinician's only their doctor's; all are far inside the appointment window), and every
 * row it holds must be live in the database at the same version. Returns what is off.
 */
async function appointmentsUnlikeDatabase(
  pool: pg.Pool,
  scope: string,
  fresh: Map<string, string>,
  acknowledged: string[],
): Promise<string[]> {
  const [role, doctor] = scope.split(':');
  const { rows } = await pool.query<{ id: string; version: string; doctor_id: string }>(
    `SELECT id::text, version::text, doctor_id::text FROM appointments
      WHERE deleted_at IS NULL AND (id = ANY($1::uuid[]) OR id = ANY($2::uuid[]))`,
    [acknowledged, [...fresh.keys()].filter((id) => /^[0-9a-f-]{36}$/.test(id))],
  );
  const live = new Map(rows.map((r) => [r.id, r]));
  const lacking = acknowledged.filter(
    (id) => live.has(id) && (role !== 'clinician' || live.get(id)!.doctor_id === doctor) && !fresh.has(id),
  );
  const unlike = [...fresh].filter(([id, version]) => live.get(id)?.version !== version).map(([id]) => id);
  const off: string[] = [];
  if (lacking.length) off.push(`lacks ${lacking.length} acknowledged booking(s) (${lacking.slice(0, 3).join(', ')})`);
  if (unlike.length)
    off.push(`${unlike.length} row(s) missing or at another version (${unlike.slice(0, 3).join(', ')})`);
  return off;
}
