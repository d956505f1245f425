// Subset snapshots (`subset__*` on GET, a JSON body on POST /v1/shape): rows of a shape that
// also match a filter, in an order, paged. The filter may only name columns the shape selects
// (a role's hidden columns stay hidden), and ORDER BY takes plain columns with a direction.
import { ProtocolError, type SubsetParams } from './protocol.js';
import type { ShapeDef } from './shape-def.js';
import { clientWhere, ShapeRequestError } from './shape-request.js';
import type { SubsetQuery } from './store.js';
import type { TableInfo } from './table-info.js';

const ORDER_ITEM =
  /^\s*(?:"((?:[^"]|"")+)"|([A-Za-z_][A-Za-z0-9_$]*))(?:\s+(ASC|DESC))?(?:\s+NULLS\s+(FIRST|LAST))?\s*$/i;

export function parseOrderBy(text: string | undefined, columns: readonly string[]): SubsetQuery['orderBy'] {
  if (!text?.trim()) return [];
  return text.split(',').map((part) => {
    const m = ORDER_ITEM.exec(part);
    if (!m)
      throw new ProtocolError('subset__order_by', `"${part.trim()}" is not "column [ASC|DESC] [NULLS FIRST|LAST]"`);
    const column = m[1] !== undefined ? m[1].replace(/""/g, '"') : m[2]!.toLowerCase();
    if (!columns.includes(column)) throw new ProtocolError('subset__order_by', `unknown column "${column}"`);
    const nulls = m[4]?.toUpperCase();
    return {
      column,
      desc: m[3]?.toUpperCase() === 'DESC',
      nullsFirst: nulls === undefined ? undefined : nulls === 'FIRST',
    };
  });
}

/** The subset query for a shape; 400 (ProtocolError / ShapeRequestError) on a bad request. */
export function buildSubsetQuery(def: ShapeDef, info: TableInfo, subset: SubsetParams): SubsetQuery {
  let where;
  try {
    where = clientWhere(info, def.columns, subset.where, subset.params);
  } catch (err) {
    if (err instanceof ShapeRequestError) throw new ProtocolError(`subset__${err.field}`, err.message);
    throw err;
  }
  return { where, orderBy: parseOrderBy(subset.orderBy, def.columns), limit: subset.limit, offset: subset.offset };
}
