import { createHash } from 'node:crypto';
import pg from 'pg';

// timestamptz comes back as JS Date by default; the API returns ISO strings, so keep the
// Date parser (JSON.stringify gives ISO 8601 UTC). `date` (OID 1082) stays a plain
// 'YYYY-MM-DD' string: turning it into a Date would shift it by the server's time zone.
pg.types.setTypeParser(1082, (v: string) => v);
// int8 (counts) fit in a JS number for everything this app counts.
pg.types.setTypeParser(20, (v: string) => Number(v));

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that can run a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

const statementNames = new Map<string, string>();

/**
 * A named (prepared) statement: each connection parses and plans it once, then only binds and
 * executes it. For the fixed-text statements on the hot paths (a booking's transaction, the
 * session lookup): their parse and plan cost more than their execution, and inside a
 * booking they run while the doctor's row is locked. PostgreSQL re-plans them by itself when
 * a table they use changes. Only for statements with a bounded set of texts (no values are
 * ever spliced in: names come from the text), since each connection keeps every one it saw.
 */
export function prepared(text: string, values: unknown[]): pg.QueryConfig {
  let name = statementNames.get(text);
  if (!name) {
    name = `s_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

export function createPool(connectionString: string, options: Partial<pg.PoolConfig> = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: 20,
    idleTimeoutMillis: 30_000,
    // A database that does not answer (down, partitioned) fails the request as unavailable
    // (503) after a while instead of queueing it forever.
    connectionTimeoutMillis: 10_000,
    // Every session works in UTC; the clinic's zone is applied explicitly where a "day" matters.
    options: '-c TimeZone=UTC',
    ...options,
  });
  // An idle client losing its connection (database restart) must not crash the process.
  pool.on('error', () => {});
  // Nor one that is checked out (inside a transaction, between two queries): pg-pool listens
  // only to idle clients, and an 'error' event without a listener ends the process. The query
  // in flight or the next one rejects with the error, and the pool drops the broken client
  // on release, so nothing is lost by swallowing the event here.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
