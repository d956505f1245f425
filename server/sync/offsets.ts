// Log offsets of the shape protocol: `<commit LSN as decimal>_<op>`; the snapshot lives at
// LSN 0 (op = row number), `-1` is before the start and `<lsn>_inf` after everything at lsn.

export interface Offset {
  lsn: bigint;
  /** Integer op position, or Infinity for `inf`. */
  op: number;
}

export const BEFORE_START: Offset = { lsn: -1n, op: 0 };

const OFFSET_RE = /^(0|[1-9]\d{0,19})_(0|[1-9]\d{0,9}|inf)$/;

/** Parses a client offset; undefined when malformed. */
export function parseOffset(text: string): Offset | undefined {
  if (text === '-1') return BEFORE_START;
  const m = OFFSET_RE.exec(text);
  if (!m) return undefined;
  const lsn = BigInt(m[1]!);
  if (lsn >= 1n << 63n) return undefined;
  const op = m[2] === 'inf' ? Infinity : Number(m[2]);
  if (op > 2 ** 31 - 1 && op !== Infinity) return undefined;
  return { lsn, op };
}

export function formatOffset(o: Offset): string {
  if (o.lsn < 0n) return '-1';
  return `${o.lsn}_${o.op === Infinity ? 'inf' : o.op}`;
}

export function compareOffsets(a: Offset, b: Offset): number {
  if (a.lsn !== b.lsn) return a.lsn < b.lsn ? -1 : 1;
  return a.op === b.op ? 0 : a.op < b.op ? -1 : 1;
}

/** "X/Y" (PostgreSQL's LSN text) → X·2^32 + Y. */
export function lsnFromText(text: string): bigint {
  const [hi, lo] = text.split('/');
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
}

export function lsnToText(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export interface XidSnapshot {
  xmin: bigint;
  xmax: bigint;
  xip: bigint[];
}

/** Parses pg_current_snapshot()'s text `xmin:xmax:xip1,xip2`. */
export function parseSnapshot(text: string): XidSnapshot {
  const [xmin, xmax, xip] = text.split(':');
  return { xmin: BigInt(xmin!), xmax: BigInt(xmax!), xip: xip ? xip.split(',').map((x) => BigInt(x)) : [] };
}

/**
 * Whether a 32-bit xid (as pgoutput reports it) committed before the snapshot was taken.
 * The snapshot holds 64-bit xid8 values; the 32-bit xid is widened relative to xmax (an xid
 * is never more than 2^31 away from it), which keeps the check right across wraparound.
 */
export function isVisibleInSnapshot(xid32: number, snap: XidSnapshot): boolean {
  const full = widenXid(xid32, snap.xmax);
  if (full < snap.xmin) return true;
  if (full >= snap.xmax) return false;
  return !snap.xip.includes(full);
}

export function widenXid(xid32: number, reference: bigint): bigint {
  const epochBase = reference & ~0xffffffffn;
  let full = epochBase | BigInt(xid32 >>> 0);
  const half = 1n << 31n;
  if (full > reference + half) full -= 1n << 32n;
  else if (full < reference - half) full += 1n << 32n;
  return full;
}
