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
  audit_chain_ok: boolean;
  audit_rows_checked: number;
  notes: string[];
}

/**
 * The rows a fresh client with this session gets for `table`, as a digest; a server that
 * cannot answer within `timeoutMs` gives an empty digest (the check then fails, not hangs).
 */
export async function snapshotDigest(url: string, cookie: string, table: string, timeoutMs = 60_000): Promise<Digest> {
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
  return digestOf(rows);
}

/**
 * Waits until the sync service has stored everything committed before this call: its
 * replication slot's confirmed position (the service confirms only what it has stored, and a
 * keepalive once it is idle) reaches the database's current WAL position. False on timeout.
 */
export async function waitForReplication(pool: pg.Pool, timeoutMs: number): Promise<boolean> {
  const { rows } = await pool.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  const target = rows[0]!.lsn;
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
  for (const spec of opts.specs) {
    if (expected.has(spec.scope)) continue;
    const e: Record<string, Digest> = {};
    for (const t of spec.tables) e[t] = await snapshotDigest(opts.url, spec.cookie, t);
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
    ok: missing.length === 0 && bad === 0 && audit.ok,
    acknowledged_writes: opts.acknowledged.length,
    missing_writes: missing.slice(0, 20),
    devices_checked: opts.specs.length,
    devices_differing: bad,
    audit_chain_ok: audit.ok,
    audit_rows_checked: (audit as { checked?: number }).checked ?? 0,
    notes,
  };
}
