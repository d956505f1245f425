// Turns one replicated transaction into a shape's log entries (docs/sync.md): rows
// moving into / out of the shape become inserts / deletes, updates carry the key plus the
// changed columns (replica=default) and vanish when nothing selected changed, and a primary
// key change splits into delete + insert. Subquery shapes move rows in and out as the
// subquery's result changes (subqueries.ts).
import type { ReplicatedTransaction, Row, RowChange } from './replication.js';
import type { CompiledShape } from './shape-def.js';
import { messageKey } from './table-info.js';
import { isVisibleInSnapshot, type XidSnapshot } from './offsets.js';
import { matches, type EvalContext } from './where-eval.js';
import type { Expr, SubqueryExpr } from './where-parser.js';
import { applyInnerChange, type Members } from './subqueries.js';

export interface LogEntry {
  lsn: bigint;
  op: number;
  body: string;
}

/** Mutable per-shape state the conversion reads and updates (membership of subquery shapes). */
export interface ShapeRuntime {
  shape: CompiledShape;
  /** Per subquery (by index): value → number of inner rows carrying it (subqueries.ts). */
  members: Members[];
  /**
   * Rows read on move-in, by message key: later changes from transactions the read already
   * saw are skipped. Dropped once the stream passes `untilLsn` (the read can't see later ones).
   */
  moveInFilters: Map<string, { snapshot: XidSnapshot; untilLsn: bigint }>;
  /** Cached `column = 'text'` conjuncts of the where clause (see equalityConjuncts). */
  equalities?: Array<[string, string]>;
}

const EXACT_TEXT_TYPES = new Set(['uuid', 'text', 'varchar']);

/**
 * Top-level `col = 'literal'` conjuncts on uuid/text columns, where comparing PostgreSQL's text
 * output with the literal is exact (uuids print lowercase, so the literal must be lowercase).
 */
function equalityConjuncts(where: Expr | undefined, types?: ReadonlyMap<string, string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (e: Expr | undefined) => {
    if (!e) return;
    if (e.k === 'and') return void (walk(e.l), walk(e.r));
    if (e.k === 'cmp' && e.op === '=' && e.l.k === 'col' && e.r.k === 'str') out.push([e.l.name, e.r.value]);
  };
  walk(where);
  return out.filter(([c, v]) => {
    const t = types?.get(c);
    return t && EXACT_TEXT_TYPES.has(t) && (t !== 'uuid' || v === v.toLowerCase());
  });
}

/** A membership count as it stands after a transaction (0: gone), keyed `index\0value`. */
export type MemberChanges = Map<string, { subquery: number; member: string; n: number }>;

export interface ConvertResult {
  entries: LogEntry[];
  memberChanges: MemberChanges;
}

type Message = { key: string; value: Row; old_value?: Row; headers: Record<string, unknown> };

const pick = (row: Row, cols: readonly string[]): Row => Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));

/** Loads rows by their key column's values for move-ins, with the snapshot (and WAL position) the read saw. */
export type FetchRows = (
  shape: CompiledShape,
  column: string,
  values: string[],
) => Promise<{ rows: Row[]; snapshot: XidSnapshot; untilLsn: bigint }>;

export async function convertTransaction(
  rt: ShapeRuntime,
  tx: ReplicatedTransaction,
  fetchRows: FetchRows,
): Promise<ConvertResult> {
  const { shape } = rt;
  const out: Message[] = [];
  const ops: number[] = [];
  const memberChanges: MemberChanges = new Map();
  // Positions only have to increase strictly: a change that yields several messages (a key
  // change, a membership move) takes the next free positions.
  const emit = (m: Message, op: number) => {
    const position = Math.max(op, (ops[ops.length - 1] ?? -1) + 1);
    m.headers.op_position = position;
    out.push(m);
    ops.push(position);
  };
  const ctx = {
    types: shape.info.types,
    params: {},
    inSubquery: (e: SubqueryExpr, value: string) => (rt.members[e.i!]?.get(value) ?? 0) > 0,
  };
  const headers = (operation: string, op: number, extra: Record<string, unknown> = {}) => ({
    operation,
    relation: [shape.schema, shape.table],
    lsn: tx.lsn.toString(),
    op_position: op,
    txids: [tx.xid],
    ...extra,
  });
  const equalities = (rt.equalities ??= equalityConjuncts(shape.where, shape.info.types));
  // `col = 'const'` conjuncts reject most rows without the full evaluator (e.g. 100 doctor shapes).
  const inShape = (row: Row | null) =>
    !!row && equalities.every(([c, v]) => row[c] === v) && safeMatches(shape, row, ctx);
  // A move-in read can't have seen a transaction committed after its WAL position.
  for (const [key, f] of rt.moveInFilters) if (f.untilLsn < tx.lsn) rt.moveInFilters.delete(key);

  for (let i = 0; i < tx.changes.length; i++) {
    const change = tx.changes[i]!;
    const op = 2 * i;
    for (const sq of shape.subqueries) {
      if (change.schema !== sq.schema || change.table !== sq.table) continue;
      const moves = applyInnerChange(sq, (rt.members[sq.index] ??= new Map()), change, memberChanges);
      // The outer column is the primary key (subqueries.ts): a value is one row's key.
      for (const value of moves.out) {
        const row = { [sq.column]: value };
        emit({ key: messageKey(shape.info, row), value: row, headers: headers('delete', op) }, op);
      }
      if (moves.in.length) {
        const { rows, snapshot, untilLsn } = await fetchRows(shape, sq.column, moves.in);
        for (const row of rows) {
          if (!safeMatches(shape, row, ctx)) continue;
          const key = messageKey(shape.info, row);
          rt.moveInFilters.set(key, { snapshot, untilLsn });
          emit({ key, value: pick(row, shape.columns), headers: headers('insert', op) }, op);
        }
      }
    }
    if (change.schema !== shape.schema || change.table !== shape.table) continue;
    if (rt.moveInFilters.size) {
      const filter = rt.moveInFilters.get(messageKey(shape.info, (change.new ?? change.old)!));
      if (filter && isVisibleInSnapshot(tx.xid, filter.snapshot)) continue;
    }
    const oldIn = inShape(change.old);
    const newIn = inShape(change.new);
    if (oldIn || newIn) convertRowChange(shape, change, oldIn, newIn, op, headers, emit);
  }
  if (out.length) out[out.length - 1]!.headers.last = true;
  return {
    entries: out.map((m, i) => ({ lsn: tx.lsn, op: ops[i]!, body: JSON.stringify(m) })),
    memberChanges,
  };
}

/**
 * A row the clause can't be evaluated on (e.g. a division by zero) is outside the shape, as
 * the snapshot's SQL would have failed on it: one bad row must not stall the whole stream.
 */
function safeMatches(shape: CompiledShape, row: Row, ctx: EvalContext): boolean {
  try {
    return matches(shape.where, row, ctx);
  } catch {
    return false;
  }
}

function convertRowChange(
  shape: CompiledShape,
  change: RowChange,
  oldIn: boolean,
  newIn: boolean,
  op: number,
  headers: (operation: string, op: number, extra?: Record<string, unknown>) => Record<string, unknown>,
  emit: (m: Message, op: number) => void,
) {
  const keyCols = shape.info.keyColumns;
  const full = shape.replica === 'full';
  const deleteMessage = (row: Row, extra?: Record<string, unknown>): Message => ({
    key: messageKey(shape.info, row),
    value: pick(row, full ? shape.columns : keyCols),
    headers: headers('delete', op, extra),
  });
  const insertMessage = (row: Row, extra?: Record<string, unknown>): Message => ({
    key: messageKey(shape.info, row),
    value: pick(row, shape.columns),
    headers: headers('insert', op + (extra ? 1 : 0), extra),
  });
  if (change.kind === 'insert') {
    if (newIn) emit(insertMessage(change.new!), op);
    return;
  }
  if (change.kind === 'delete') {
    if (oldIn) emit(deleteMessage(change.old!), op);
    return;
  }
  const oldRow = change.old ?? change.new!;
  const newRow = change.new!;
  if (oldIn && !newIn) return emit(deleteMessage(oldRow), op);
  if (!oldIn && newIn) return emit(insertMessage(newRow), op);
  if (!oldIn && !newIn) return;
  const oldKey = messageKey(shape.info, oldRow);
  const newKey = messageKey(shape.info, newRow);
  if (oldKey !== newKey) {
    emit(deleteMessage(oldRow, { key_change_to: newKey }), op);
    emit(insertMessage(newRow, { key_change_from: oldKey }), op + 1);
    return;
  }
  const changed = shape.columns.filter((c) => !keyCols.includes(c) && (oldRow[c] ?? null) !== (newRow[c] ?? null));
  if (!changed.length) return;
  const message: Message = {
    key: newKey,
    value: pick(newRow, full ? shape.columns : [...keyCols.filter((k) => shape.columns.includes(k)), ...changed]),
    headers: headers('update', op),
  };
  if (full) message.old_value = pick(oldRow, changed);
  emit(message, op);
}
