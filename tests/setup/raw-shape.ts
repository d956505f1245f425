// Reads a shape over plain HTTP, the way a fresh client does (offset=-1, then on until the
// first up-to-date), keeping what the official client hides: the snapshot-end's xmin/xmax/xip
// and the up-to-date's global_last_seen_lsn.
export interface RawShapeRead {
  handle: string;
  /** Rows by key after applying every message (id → value). */
  rows: Map<string, Record<string, unknown>>;
  /** Keys of the insert messages that came before snapshot-end. */
  snapshotKeys: Set<string>;
  snapshotEnd: { xmin: bigint; xmax: bigint; xip: bigint[] } | undefined;
  /** global_last_seen_lsn of the closing up-to-date. */
  global: bigint;
  /** Keys inserted more than once (must stay empty). */
  duplicateInserts: string[];
}

interface Msg {
  key?: string;
  value?: Record<string, unknown>;
  headers: Record<string, unknown>;
}

export async function readShapeRaw(
  baseUrl: string,
  cookie: string,
  params: Record<string, string>,
): Promise<RawShapeRead> {
  const out: RawShapeRead = {
    handle: '',
    rows: new Map(),
    snapshotKeys: new Set(),
    snapshotEnd: undefined,
    global: 0n,
    duplicateInserts: [],
  };
  let offset = '-1';
  for (let page = 0; page < 1000; page++) {
    const q = new URLSearchParams({ ...params, offset });
    if (out.handle) q.set('handle', out.handle);
    const res = await fetch(`${baseUrl}/v1/shape?${q}`, { headers: { cookie } });
    if (res.status !== 200) throw new Error(`shape read answered ${res.status}: ${await res.text()}`);
    out.handle = res.headers.get('electric-handle')!;
    offset = res.headers.get('electric-offset')!;
    for (const m of (await res.json()) as Msg[]) {
      const control = m.headers.control;
      if (control === 'snapshot-end') {
        out.snapshotEnd = {
          xmin: BigInt(m.headers.xmin as string),
          xmax: BigInt(m.headers.xmax as string),
          xip: (m.headers.xip_list as string[]).map(BigInt),
        };
      } else if (control === 'up-to-date') {
        out.global = BigInt(m.headers.global_last_seen_lsn as string);
        return out;
      } else if (m.key) {
        const op = m.headers.operation;
        if (op === 'insert') {
          if (out.rows.has(m.key)) out.duplicateInserts.push(m.key);
          out.rows.set(m.key, { ...m.value });
          if (!out.snapshotEnd) out.snapshotKeys.add(m.key);
        } else if (op === 'update') out.rows.set(m.key, { ...out.rows.get(m.key), ...m.value });
        else if (op === 'delete') out.rows.delete(m.key);
      }
    }
  }
  throw new Error('no up-to-date after 1000 pages');
}

/** Whether a transaction (64-bit xid) is visible in a pg_current_snapshot(). */
export function visibleIn(xid: bigint, s: { xmin: bigint; xmax: bigint; xip: bigint[] }): boolean {
  if (xid < s.xmin) return true;
  if (xid >= s.xmax) return false;
  return !s.xip.includes(xid);
}
