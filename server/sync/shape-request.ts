// From a client's shape parameters to a checked definition. A client's where/columns may only
// narrow what the server allows: a column outside the allowed set is a 403, a malformed
// request a 400. An access policy (access.ts) builds its server-side scope on these checks;
// buildOpenShape is the policy of the standalone service (the client's parameters as given).
import { bindParams, type ShapeDef } from './shape-def.js';
import type { TableInfo } from './table-info.js';
import { checkWhere, whereColumns } from './where-eval.js';
import { collectRefs, parseWhere, subqueriesOf, type Expr } from './where-parser.js';

/** A refused shape request: 400 answers with Electric's body naming the field, 403 with the app's. */
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

/** The client's columns, which must lie within `allowed` and include the primary key. */
export function checkColumns(info: TableInfo, allowed: string[], requested: string[] | undefined): string[] {
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

/**
 * Parses and binds a client where clause; columns it names must be among `allowed`. Subqueries
 * only where asked for (standalone mode): behind an access policy that hides rows or columns,
 * one could probe them through another table (e.g. `id IN (SELECT patient_id FROM
 * appointments WHERE clinical_notes LIKE …)`).
 */
export function clientWhere(
  info: TableInfo,
  allowed: string[],
  where: string | undefined,
  params: Record<string, string>,
  allowSubqueries = false,
): Expr | undefined {
  if (where === undefined || where.trim() === '') return undefined;
  let tree: Expr;
  try {
    tree = parseWhere(where);
  } catch (err) {
    throw new ShapeRequestError(400, 'where', (err as Error).message);
  }
  if (!allowSubqueries && subqueriesOf(tree).length)
    throw new ShapeRequestError(403, 'where', 'You may not use a subquery in where.');
  const refs = collectRefs(tree);
  for (const c of refs.cols) {
    if (!info.types.has(c)) throw new ShapeRequestError(400, 'where', `column "${c}" does not exist`);
    if (!allowed.includes(c)) throw new ShapeRequestError(403, 'where', `You may not filter on column "${c}".`);
  }
  for (const n of refs.params) {
    if (params[String(n)] === undefined) throw new ShapeRequestError(400, 'params', `parameter $${n} was not provided`);
  }
  const bound = bindParams(tree, params);
  // Refused here, before any SQL runs, whatever the rows: see where-types.ts. A subquery's
  // inner where is checked against its own table's columns when the shape is compiled
  // (subqueries.ts).
  try {
    checkWhere(bound, whereColumns(info));
  } catch (err) {
    throw new ShapeRequestError(400, 'where', (err as Error).message);
  }
  return bound;
}

/** Standalone mode: the client's where/columns as Electric takes them, nothing added. */
export function buildOpenShape(info: TableInfo, client: ClientShapeParams): ShapeDef {
  const all = info.columns.map((c) => c.name);
  const columns = checkColumns(info, all, client.columns);
  const where = clientWhere(info, all, client.where, client.params, true);
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
