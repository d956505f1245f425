// Turns one replicated transaction into a shape's log entries (docs/sync.md): rows
// moving into / out of the shape become inserts / deletes, updates carry the key plus the
// changed columns (replica=default) and vanish when nothing selected changed, and a primary
// key change splits into delete + insert.
import type { ReplicatedTransaction, Row, RowChange } from './replication.js';
import type { CompiledShape } from './shape-def.js';
import { messageKey } from './table-info.js';
import { isVisibleInSnapshot, type XidSnapshot } from './offsets.js';
import { matches, whereColumns, type EvalContext } from './where-eval.js';
import type { Expr } from './where-parser.js';

export interface LogEntry {
  lsn: bigint;
  op: number;
  body: string;
}

/** Mutable per-shape state the conversion reads and updates (membership of subquery shapes). */
export interface ShapeRuntime {
  shape: CompiledShape;
  /** patient id → number of the doctor's live appointments (doctor_patients shapes only). */
  members: Map<string, number>;
  /** Rows fetched on move-in: later changes from transactions the fetch already saw are skipped. */
  moveInFilters: Map<string, XidSnapshot>;
  /** Cached `column = 'text'` conjuncts of the where clause (see equalityConjuncts). */
  equalities?: Array<[string, string]>;
}

const EXACT_TEXT_TYPES = new Set(['uuid', 'text', 'varchar']);

const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Top-level `col = 'literal'` conjuncts on uuid/text columns, where comparing PostgreSQL's text
 * output with the literal is exact (uuids print lowercase with hyphens, so the literal must be
 * written that way; other spellings go through the evaluator).
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
    return t && EXACT_TEXT_TYPES.has(t) && (t !== 'uuid' || CANONICAL_UUID.test(v));
  });
}

const columnsByInfo = new WeakMap<CompiledShape['info'], ReturnType<typeof whereColumns>>();
/** One column map per table info, so the clause's types are worked out once (where-eval.ts). */
function whereColumnsOf(shape: CompiledShape) {
  let cols = columnsByInfo.get(shape.info);
  if (!cols) columnsByInfo.set(shape.info, (cols = whereColumns(shape.info)));
  return cols;
}

export interface MemberDelta {
  member: string;
  n: number;
}

export interface ConvertResult {
  entries: LogEntry[];
  memberChanges: Map<string, number>;
}

type Message = { key: string; value: Row; old_value?: Row; headers: Record<string, unknown> };

const pick = (row: Row, cols: readonly string[]): Row => Object.fromEntries(cols.map((c) => [c, row[c] ?? null]));

/** Loads rows by id for move-ins, with the snapshot the read saw. */
export type FetchRows = (shape: CompiledShape, ids: string[]) => Promise<{ rows: Row[]; snapshot: XidSnapshot }>;

export async function convertTransaction(
  rt: ShapeRuntime,
  tx: ReplicatedTransaction,
  fetchRows: FetchRows,
): Promise<ConvertResult> {
  const { shape } = rt;
  const out: Message[] = [];
  const ops: number[] = [];
  const memberChanges = new Map<string, number>();
  // Positions only have to increase strictly: a change that yields several messages (a key
  // change, a membership move) takes the next free positions.
  const emit = (m: Message, op: number) => {
    const position = Math.max(op, (ops[ops.length - 1] ?? -1) + 1);
    m.headers.op_position = position;
    out.push(m);
    ops.push(position);
  };
  const ctx: EvalContext = { ...whereColumnsOf(shape), params: {} };
  const headers = (operation: string, op: number, extra: Record<string, unknown> = {}) => ({
    operation,
    relation: [shape.schema, shape.table],
    lsn: tx.lsn.toString(),
    op_position: op,
    txids: [tx.xid],
    ...extra,
  });
  const isMember = (row: Row) => !shape.membership || (rt.members.get(row.id ?? '') ?? 0) > 0;
  const equalities = (rt.equalities ??= equalityConjuncts(shape.where, shape.info.types));
  // `col = 'const'` conjuncts reject most rows without the full evaluator (e.g. 100 doctor shapes).
  const inShape = (row: Row | null) =>
    !!row && equalities.every(([c, v]) => row[c] === v) && isMember(row) && safeMatches(shape, row, ctx);

  for (let i = 0; i < tx.changes.length; i++) {
    const change = tx.changes[i]!;
    const op = 2 * i;
    if (shape.membership && change.schema === 'public' && change.table === 'appointments') {
      const moves = updateMembership(rt, change, memberChanges);
      for (const id of moves.out) {
        const key = messageKey(shape.info, { id });
        emit({ key, value: { id }, headers: headers('delete', op) }, op);
      }
      if (moves.in.length) {
        const { rows, snapshot } = await fetchRows(shape, moves.in);
        for (const row of rows) {
          if (!safeMatches(shape, row, ctx)) continue;
          rt.moveInFilters.set(row.id!, snapshot);
          emit(
            { key: messageKey(shape.info, row), value: pick(row, shape.columns), headers: headers('insert', op) },
            op,
          );
        }
      }
      continue;
    }
    if (change.schema !== shape.schema || change.table !== shape.table) continue;
    const anyRow = (change.new ?? change.old)!;
    const filter = shape.membership ? rt.moveInFilters.get(anyRow.id ?? '') : undefined;
    if (filter && isVisibleInSnapshot(tx.xid, filter)) continue;
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
 * Accepted clauses evaluate on every row (where-types.ts refuses what could fail); should one
 * still throw on a value, the row is outside the shape: one bad row must not stall the stream.
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

/** Applies an appointment change to a doctor's patient counts; returns who moved in / out. */
function updateMembership(rt: ShapeRuntime, change: RowChange, touched: Map<string, number>) {
  const doctorId = rt.shape.membership!.doctorId;
  const counts = (row: Row | null) =>
    row && row.doctor_id === doctorId && row.deleted_at === null ? row.patient_id : null;
  const before = counts(change.old);
  const after = counts(change.new);
  const moves = { in: [] as string[], out: [] as string[] };
  if (before === after) return moves;
  if (before) {
    const n = (rt.members.get(before) ?? 0) - 1;
    if (n <= 0) {
      rt.members.delete(before);
      moves.out.push(before);
    } else rt.members.set(before, n);
    touched.set(before, Math.max(n, 0));
  }
  if (after) {
    const n = (rt.members.get(after) ?? 0) + 1;
    rt.members.set(after, n);
    touched.set(after, n);
    if (n === 1) moves.in.push(after);
  }
  return moves;
}
