// The end-of-run checks of the load and chaos suites: every acknowledged (2xx) write is in the
// database exactly once, every live device holds exactly the rows the server would give it
// now (a fresh snapshot of the same shapes with the same session), and the audit chain verifies.
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

  // Expected digests: one fresh snapshot per scope (role and doctor), with a session of it.
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
