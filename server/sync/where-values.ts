// Exact JavaScript counterparts of the PostgreSQL values and operations the where grammar
// allows (where-types.ts decides which): numeric/integer values as decimals (BigInt, never a
// float), float8 with PostgreSQL's NaN ordering, dates and timestamps as BigInt microseconds,
// text in code-point order (COLLATE "C"), per-character case mapping (COLLATE pg_c_utf8) and
// LIKE with backslash escapes. Inputs are PostgreSQL's text output (DateStyle ISO, UTC).

/** A numeric/integer value: m × 10^-s (s = displayed scale), or a special. */
export type Dec = { m: bigint; s: number } | 'NaN' | 'Infinity' | '-Infinity';

const DEC_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parses numeric text (PostgreSQL output or a checked literal); undefined if it is not one. */
export function parseDec(text: string): Dec | undefined {
  const low = text.toLowerCase();
  if (low === 'nan') return 'NaN';
  if (low === 'infinity' || low === '+infinity') return 'Infinity';
  if (low === '-infinity') return '-Infinity';
  const m = DEC_RE.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  const frac = m[3] ?? '';
  const exp = m[4] === undefined ? 0 : Number(m[4]);
  if (!Number.isSafeInteger(exp) || Math.abs(exp) > 1000) return undefined;
  let digits = BigInt((m[2] || '0') + frac);
  // numeric_in: the displayed scale is the fraction's length minus the exponent, at least 0.
  let s = frac.length - exp;
  if (s < 0) {
    digits *= 10n ** BigInt(-s);
    s = 0;
  }
  return { m: m[1] === '-' ? -digits : digits, s };
}

/** numeric_out: plain digits with exactly `s` decimals. */
export function decToString(d: Dec): string {
  if (typeof d === 'string') return d;
  const neg = d.m < 0n;
  const abs = (neg ? -d.m : d.m).toString().padStart(d.s + 1, '0');
  const body = d.s ? `${abs.slice(0, abs.length - d.s)}.${abs.slice(abs.length - d.s)}` : abs;
  return neg ? `-${body}` : body;
}

/** A text equal for equal values (compareDec = 0): `1.50` and `1.5` give `1.5`. */
export function decKey(d: Dec): string {
  if (typeof d === 'string') return d;
  let { m, s } = d;
  while (s > 0 && m % 10n === 0n) {
    m /= 10n;
    s--;
  }
  return decToString({ m, s });
}

const rank = (d: Dec) => (d === 'NaN' ? 2 : d === 'Infinity' ? 1 : d === '-Infinity' ? -1 : 0);

/** numeric ordering: NaN equals NaN and sorts above everything, then +Infinity. */
export function compareDec(a: Dec, b: Dec): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra || rb) return Math.sign(ra - rb);
  const x = a as { m: bigint; s: number };
  const y = b as { m: bigint; s: number };
  const s = Math.max(x.s, y.s);
  const l = x.m * 10n ** BigInt(s - x.s);
  const r = y.m * 10n ** BigInt(s - y.s);
  return l < r ? -1 : l > r ? 1 : 0;
}

const signOf = (d: Dec): number =>
  d === 'Infinity'
    ? 1
    : d === '-Infinity'
      ? -1
      : d === 'NaN'
        ? NaN
        : Number((d as { m: bigint }).m > 0n) - Number((d as { m: bigint }).m < 0n);

/** numeric + - × as PostgreSQL computes them (exact; scale max(s1,s2) or s1+s2). */
export function arithDec(op: string, a: Dec, b: Dec): Dec {
  if (a === 'NaN' || b === 'NaN') return 'NaN';
  if (typeof a === 'string' || typeof b === 'string') {
    const sa = signOf(a);
    const sb = signOf(b);
    if (op === '*') {
      if (sa === 0 || sb === 0) return 'NaN';
      return sa * sb > 0 ? 'Infinity' : '-Infinity';
    }
    const eb = op === '-' ? -sb : sb;
    if (typeof a === 'string' && typeof b === 'string') return sa === eb ? a : 'NaN';
    return typeof a === 'string' ? a : eb > 0 ? 'Infinity' : '-Infinity';
  }
  if (op === '*') return { m: a.m * b.m, s: a.s + b.s };
  const s = Math.max(a.s, b.s);
  const l = a.m * 10n ** BigInt(s - a.s);
  const r = b.m * 10n ** BigInt(s - b.s);
  return { m: op === '+' ? l + r : l - r, s };
}

/** Weight and value of the first non-zero base-10000 digit (PostgreSQL's NBASE) of |d|. */
function firstGroup(d: { m: bigint; s: number }): { weight: number; digit: number } {
  const abs = d.m < 0n ? -d.m : d.m;
  if (abs === 0n) return { weight: 0, digit: 0 };
  const s4 = Math.ceil(d.s / 4) * 4;
  let text = (abs * 10n ** BigInt(s4 - d.s)).toString();
  text = text.padStart(Math.ceil(text.length / 4) * 4, '0');
  const groups = text.length / 4;
  for (let j = 0; j < groups; j++) {
    const digit = Number(text.slice(4 * j, 4 * j + 4));
    if (digit) return { weight: groups - 1 - j - s4 / 4, digit };
  }
  return { weight: 0, digit: 0 };
}

/**
 * numeric ÷ numeric as PostgreSQL computes it (select_div_scale: at least 16 significant
 * digits, at least either input's scale; rounded half away from zero). The divisor is a
 * non-zero constant (where-types.ts), so there is no division by zero.
 */
export function divideDec(a: Dec, b: Dec): Dec {
  if (a === 'NaN' || b === 'NaN') return 'NaN';
  if (typeof a === 'string') {
    if (typeof b === 'string') return 'NaN';
    return (a === 'Infinity') === b.m > 0n ? 'Infinity' : '-Infinity';
  }
  if (typeof b === 'string') return { m: 0n, s: 0 };
  const x = firstGroup(a);
  const y = firstGroup(b);
  let qweight = x.weight - y.weight;
  if (x.digit <= y.digit) qweight--;
  const rscale = Math.min(Math.max(16 - qweight * 4, a.s, b.s, 0), 1000);
  // a/b × 10^rscale = a.m × 10^(rscale + b.s - a.s) / b.m, rounded half away from zero.
  const shift = rscale + b.s - a.s;
  let num = a.m * (shift >= 0 ? 10n ** BigInt(shift) : 1n);
  let den = b.m * (shift < 0 ? 10n ** BigInt(-shift) : 1n);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const neg = num < 0n;
  const absNum = neg ? -num : num;
  let q = absNum / den;
  if ((absNum % den) * 2n >= den) q++;
  return { m: neg ? -q : q, s: rscale };
}

/** numeric/int → float8 as PostgreSQL converts it (correctly rounded; specials kept). */
export const decToFloat = (d: Dec): number => Number(decToString(d));

/** float8 ordering: NaN equals NaN and sorts above everything; -0 equals 0. */
export function compareFloat(a: number, b: number): number {
  if (Number.isNaN(a)) return Number.isNaN(b) ? 0 : 1;
  if (Number.isNaN(b)) return -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Code-point order, which is UTF-8 byte order, which is COLLATE "C". */
export function compareText(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 puts surrogates (supplementary planes) below U+E000–U+FFFF: move them above.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x < y ? -1 : 1;
  }
  return a.length < b.length ? -1 : a.length > b.length ? 1 : 0;
}

// pg_c_utf8 maps case with Unicode's simple (one-to-one) mappings, character by character:
// 'ß' stays 'ß', no final-sigma rule. JavaScript's mappings are the full ones; where a full
// mapping has several characters, the simple one is the character itself except for these.
const SIMPLE_UPPER: Record<number, number> = { 0x1fb3: 0x1fbc, 0x1fc3: 0x1fcc, 0x1ff3: 0x1ffc };
for (const base of [0x1f80, 0x1f90, 0x1fa0]) for (let i = 0; i < 8; i++) SIMPLE_UPPER[base + i] = base + 8 + i;
const SIMPLE_LOWER: Record<number, number> = { 0x130: 0x69 };

/** upper()/lower() under COLLATE pg_c_utf8. */
export function mapCase(s: string, upper: boolean): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (cp < 0x80) {
      out += upper ? ch.toUpperCase() : ch.toLowerCase();
      continue;
    }
    const special = (upper ? SIMPLE_UPPER : SIMPLE_LOWER)[cp];
    if (special !== undefined) {
      out += String.fromCodePoint(special);
      continue;
    }
    const full = upper ? ch.toUpperCase() : ch.toLowerCase();
    out += [...full].length === 1 ? full : ch;
  }
  return out;
}

/** True when a LIKE pattern ends with an unpaired backslash (PostgreSQL refuses it). */
export function likeEndsWithEscape(pattern: string): boolean {
  let n = 0;
  for (let i = pattern.length - 1; i >= 0 && pattern[i] === '\\'; i--) n++;
  return n % 2 === 1;
}

type LikeItem = number | 'any' | 'one';

function compileLike(pattern: string): LikeItem[] {
  const cps = [...pattern].map((c) => c.codePointAt(0)!);
  const out: LikeItem[] = [];
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i]!;
    if (c === 0x5c /* \ */) out.push(cps[++i]!);
    else if (c === 0x25 /* % */) out.push('any');
    else if (c === 0x5f /* _ */) out.push('one');
    else out.push(c);
  }
  return out;
}

/** LIKE (backslash escapes; `_` is one character); ILIKE lowercases both sides first. */
export function likeMatch(text: string, pattern: string, ci: boolean): boolean {
  const p = compileLike(ci ? mapCase(pattern, false) : pattern);
  const s = [...(ci ? mapCase(text, false) : text)].map((c) => c.codePointAt(0)!);
  let i = 0;
  let j = 0;
  let star = -1;
  let mark = 0;
  while (i < s.length) {
    const item = p[j];
    if (item !== undefined && item !== 'any' && (item === 'one' || item === s[i])) {
      i++;
      j++;
    } else if (item === 'any') {
      star = j++;
      mark = i;
    } else if (star >= 0) {
      j = star + 1;
      i = ++mark;
    } else return false;
  }
  while (p[j] === 'any') j++;
  return j === p.length;
}

/** A date or timestamp as microseconds since 1970-01-01 00:00 UTC; ±infinity as inf. */
export interface TimeKey {
  inf: -1 | 0 | 1;
  us: bigint;
}

export function compareTime(a: TimeKey, b: TimeKey): number {
  if (a.inf !== b.inf) return a.inf < b.inf ? -1 : 1;
  return a.us < b.us ? -1 : a.us > b.us ? 1 : 0;
}

/** Days from 1970-01-01 in the proleptic Gregorian calendar (astronomical years). */
function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function daysInMonth(y: number, m: number): number {
  return m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

const US_PER_DAY = 86_400_000_000n;
const OUT_RE =
  /^(\d{4,})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?)?(?:(Z)|([+-])(\d\d)(?::?(\d\d)(?::(\d\d))?)?)?( BC)?$/;

/**
 * Parses a date or timestamptz as PostgreSQL prints it (DateStyle ISO; also the literal forms
 * where-types.ts accepts). A time without a zone is UTC, the snapshot's session time zone.
 */
export function parseTimeKey(text: string): TimeKey | undefined {
  const low = text.toLowerCase();
  if (low === 'infinity' || low === '+infinity') return { inf: 1, us: 0n };
  if (low === '-infinity') return { inf: -1, us: 0n };
  const m = OUT_RE.exec(text);
  if (!m) return undefined;
  let year = Number(m[1]);
  if (m[13]) year = 1 - year;
  const days = daysFromCivil(year, Number(m[2]), Number(m[3]));
  const secs = Number(m[4] ?? 0) * 3600 + Number(m[5] ?? 0) * 60 + Number(m[6] ?? 0);
  const offset = m[9]
    ? (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 3600 + Number(m[11] ?? 0) * 60 + Number(m[12] ?? 0))
    : 0;
  const micros = BigInt((m[7] ?? '').padEnd(6, '0') || '0');
  return { inf: 0, us: BigInt(days) * US_PER_DAY + BigInt(secs - offset) * 1_000_000n + micros };
}
