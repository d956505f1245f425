// Applies the local migrations a database has not seen yet. Runs in the worker that owns
// the database (and in Node tests against an in-memory PGlite).
import { LOCAL_MIGRATIONS, type LocalMigration } from './migrations';

/** The subset of PGlite used here: plain statements and a transaction. */
export interface MigratableDb {
  exec(sql: string): Promise<unknown>;
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
  transaction<T>(
    fn: (tx: {
      exec(sql: string): Promise<unknown>;
      query<R>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
    }) => Promise<T>,
  ): Promise<T>;
}

export async function migrateLocal(
  db: MigratableDb,
  migrations: readonly LocalMigration[] = LOCAL_MIGRATIONS,
): Promise<number[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS local_schema_version (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
  const { rows } = await db.query<{ v: number | null }>('SELECT max(version) AS v FROM local_schema_version');
  const current = rows[0]?.v ?? 0;
  const applied: number[] = [];
  for (const m of migrations) {
    if (m.version <= current) continue;
    // One transaction per migration: a failure leaves the previous version intact.
    await db.transaction(async (tx) => {
      await tx.exec(m.sql);
      await tx.query('INSERT INTO local_schema_version (version, name) VALUES ($1, $2)', [m.version, m.name]);
    });
    applied.push(m.version);
  }
  return applied;
}
