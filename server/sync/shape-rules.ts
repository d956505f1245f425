// What each role may sync (docs/sync.md, "Shape rules per role"; authorization lives on the
// server). The server decides table, where and columns; a client's where/columns may only
// narrow them: a column outside the allowed set is a 403, a malformed request a 400.
import type { SessionUser } from '../../src/lib/shared/roles.js';
import { appointmentWindowStart } from '../../src/lib/shared/appointment-window.js';
import { andWhere, bindParams, type ShapeDef } from './shape-def.js';
import type { TableInfo } from './table-info.js';
import { collectRefs, parseWhere, type Expr } from './where-parser.js';

export const SYNCED_TABLES = [
  'doctors',
  'specializations',
  'doctor_specializations',
  'doctor_hours',
  'patients',
  'appointments',
  'appointment_types',
  'appointment_type_doctors',
  'waitlist_entries',
] as const;

// The window is shared with the device, which asks for the history before it (subsets).
export { appointmentWindowStart, WINDOW_WEEKS } from '../../src/lib/shared/appointment-window.js';

export class ShapeRequestError extends Error {
  constructor(
    readonly status: 400 | 403,
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ClientShapeParams {
  where?: string;
  params: Record<string, string>;
  columns?: string[];
  replica: 'default' | 'full';
}

interface ServerRule {
  clauses: string[];
  hiddenColumns: string[];
  membership?: ShapeDef['membership'];
}

function serverRule(user: SessionUser, table: string, windowStart: string | null): ServerRule {
  const isClinician = user.role === 'clinician';
  const doctor = user.doctor_id ?? '00000000-0000-0000-0000-000000000000';
  if (table === 'appointments') {
    const clauses = ['deleted_at IS NULL'];
    if (windowStart) clauses.push(`starts_at >= '${windowStart}'`);
    if (isClinician) clauses.push(`doctor_id = '${doctor}'`);
    return { clauses, hiddenColumns: user.role === 'receptionist' ? ['clinical_notes'] : [] };
  }
  if (table === 'patients') {
    return {
      clauses: ['deleted_at IS NULL'],
      hiddenColumns: [],
      membership: isClinician ? { kind: 'doctor_patients', doctorId: doctor } : undefined,
    };
  }
  if (table === 'waitlist_entries') {
    // Waiting entries only: a booked or removed one leaves every device.
    const clauses = [`status = 'waiting'`];
    if (isClinician) clauses.push(`doctor_id = '${doctor}'`);
    return { clauses, hiddenColumns: [] };
  }
  return { clauses: [], hiddenColumns: [] };
}

function checkColumns(info: TableInfo, allowed: string[], requested: string[] | undefined): string[] {
  if (!requested) return allowed;
  for (const c of requested) {
    if (!info.types.has(c)) throw new ShapeRequestError(400, 'columns', `Unknown column "${c}".`);
    if (!allowed.includes(c)) throw new ShapeRequestError(403, 'columns', `You may not sync column "${c}".`);
  }
  for (const k of info.keyColumns) {
    if (!requested.includes(k))
      throw new ShapeRequestError(400, 'columns', `The columns must include the primary key ("${k}").`);
  }
  // Keep table order, so equal sets give equal definitions.
  return info.columns.map((c) => c.name).filter((c) => requested.includes(c));
}

/** Parses and binds a client where clause; columns it names must be among `allowed`. */
export function clientWhere(
  info: TableInfo,
  allowed: string[],
  where: string | undefined,
  params: Record<string, string>,
): Expr | undefined {
  if (where === undefined || where.trim() === '') return undefined;
  let tree: Expr;
  try {
    tree = parseWhere(where);
  } catch (err) {
    throw new ShapeRequestError(400, 'where', (err as Error).message);
  }
  const refs = collectRefs(tree);
  for (const c of refs.cols) {
    if (!info.types.has(c)) throw new ShapeRequestError(400, 'where', `column "${c}" does not exist`);
    if (!allowed.includes(c)) throw new ShapeRequestError(403, 'where', `You may not filter on column "${c}".`);
  }
  for (const n of refs.params) {
    if (params[String(n)] === undefined) throw new ShapeRequestError(400, 'params', `parameter $${n} was not provided`);
  }
  return bindParams(tree, params);
}

/**
 * The shape a user gets for a table, narrowed by the client's where/columns. `window: false`
 * drops the appointment window and keeps every other rule of the role: the scope of a subset
 * snapshot that reads a patient's visits before the window (never a shape of its own).
 */
export function buildUserShape(
  user: SessionUser,
  info: TableInfo,
  client: ClientShapeParams,
  timeZone: string,
  now = new Date(),
  { window = true }: { window?: boolean } = {},
): ShapeDef {
  const rule = serverRule(user, info.name, window ? appointmentWindowStart(now, timeZone) : null);
  const allowed = info.columns.map((c) => c.name).filter((c) => !rule.hiddenColumns.includes(c));
  const columns = checkColumns(info, allowed, client.columns);
  const serverText = rule.clauses.join(' AND ');
  const serverTree = serverText ? parseWhere(serverText) : undefined;
  const narrowed = clientWhere(info, allowed, client.where, client.params);
  const whereText = [serverText, client.where?.trim() ? `(${client.where.trim()})` : ''].filter(Boolean).join(' AND ');
  return {
    schema: info.schema,
    table: info.name,
    where: andWhere(serverTree, narrowed),
    whereText,
    params: narrowed ? client.params : {},
    columns,
    replica: client.replica,
    membership: rule.membership,
    scope: user.role === 'clinician' ? `clinician (doctor ${user.doctor_id})` : user.role,
    narrowed: !!narrowed || columns.length !== allowed.length,
  };
}

/** Standalone mode: the client's where/columns as Electric takes them, nothing added. */
export function buildOpenShape(info: TableInfo, client: ClientShapeParams): ShapeDef {
  const all = info.columns.map((c) => c.name);
  const columns = checkColumns(info, all, client.columns);
  const where = clientWhere(info, all, client.where, client.params);
  return {
    schema: info.schema,
    table: info.name,
    where,
    whereText: client.where?.trim() ?? '',
    params: where ? client.params : {},
    columns,
    replica: client.replica,
    scope: 'standalone',
  };
}
