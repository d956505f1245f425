/** What the local queries need: PGlite in Node tests, PGliteWorker in the browser. */
export interface Queryable {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface SqlQuery {
  sql: string;
  params: unknown[];
}

export const PAGE_SIZE = 50;

/** Escapes LIKE wildcards so user text matches literally. */
export function likePattern(text: string, { prefix = false } = {}): string {
  const escaped = text.replace(/[\\%_]/g, (c) => '\\' + c);
  return prefix ? `${escaped}%` : `%${escaped}%`;
}

/** Collects `$n` parameters while a WHERE clause is assembled from constant fragments. */
export class Params {
  readonly values: unknown[] = [];
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}
