// What a screen's live read listens on: the tables under its statement, not its rows.

/**
 * The statement that watches the tables `sql` reads. PGlite's live query turns a statement
 * into a temporary view, finds the tables under it and listens for their changes: a dozen
 * worker round trips and catalog writes (each committed to storage), tens of milliseconds on
 * the worker that every read waits behind. The tables a query reads do not depend on its
 * parameters, so one watch serves every page or keystroke of the same statement, and a new
 * page costs one plain read. `WHERE false` keeps the watch's own refresh free.
 */
export function watchSql(sql: string): string {
  return `SELECT 1 FROM (${sql.trim().replace(/;\s*$/, '')}\n) AS watched WHERE false`;
}
