// Forward-only migration runner: plain SQL files in migrations/, applied in name order,
// exactly once, recorded in schema_migrations with their SHA-256, under an advisory lock so
// two servers starting together don't both migrate. A file that was applied and has changed
// since stops the start (MigrationChecksumError): the database no longer matches what the
// repository says, and a fix belongs in a new migration.
//
// A file whose first line is `-- migrate: no-transaction` runs statement by statement outside
// a transaction (CREATE INDEX CONCURRENTLY needs that). Such files must be safe to re-run
// (IF NOT EXISTS / IF EXISTS), since a failure half-way can't be rolled back.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations');
const LOCK_KEY = 727_001; // arbitrary, constant: the advisory lock id of the runner
const NO_TX_MARKER = /^--\s*migrate:\s*no-transaction\s*$/m;

export class MigrationError extends Error {
  constructor(
    public readonly file: string,
    public readonly cause: unknown,
  ) {
    super(`Migration ${file} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

export class MigrationChecksumError extends Error {
  constructor(readonly files: readonly string[]) {
    super(
      `Applied migration${files.length > 1 ? 's' : ''} changed since ${files.length > 1 ? 'they were' : 'it was'} applied: ${files.join(', ')}.\n` +
        'A migration that has run must never be edited (this database was built from the old text). ' +
        'Restore the file from version control (git checkout -- migrations/) and put the change in a new migration.',
    );
  }
}

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  noTransaction: boolean;
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    names.map(async (name) => {
      const sql = await readFile(path.join(dir, name), 'utf8');
      const firstLine = sql.split('\n', 1)[0] ?? '';
      return {
        name,
        sql,
        checksum: createHash('sha256').update(sql).digest('hex'),
        noTransaction: NO_TX_MARKER.test(firstLine),
      };
    }),
  );
}

/** Splits a no-transaction file into statements: one per `;` at the end of a line. */
function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*$/m)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter(Boolean);
}

/**
 * Polls pg_try_advisory_lock instead of blocking in pg_advisory_lock: a session waiting
 * inside a statement holds a snapshot, and CREATE INDEX CONCURRENTLY in the lock holder
 * would wait for that snapshot forever (a deadlock).
 */
async function takeLock(client: pg.Client): Promise<void> {
  for (;;) {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [LOCK_KEY]);
    if (rows[0]!.ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Compares the recorded checksums with the files: applied files that changed, and pending ones. */
export async function migrationStatus(
  connectionString: string,
  dir = MIGRATIONS_DIR,
): Promise<{ edited: string[]; pending: string[]; unknown: string[] }> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    const exists = await client.query(`SELECT to_regclass('schema_migrations') IS NOT NULL AS ok`);
    const done = new Map<string, string>(
      exists.rows[0].ok
        ? (
            await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')
          ).rows.map((r) => [r.name, r.checksum])
        : [],
    );
    const files = await readMigrations(dir);
    const names = new Set(files.map((f) => f.name));
    return {
      edited: files.filter((f) => done.has(f.name) && done.get(f.name) !== f.checksum).map((f) => f.name),
      pending: files.filter((f) => !done.has(f.name)).map((f) => f.name),
      unknown: [...done.keys()].filter((n) => !names.has(n)),
    };
  } finally {
    await client.end();
  }
}

/** Applies pending migrations; returns the names applied (empty when up to date). */
export async function migrate(
  connectionString: string,
  { dir = MIGRATIONS_DIR, log = (_: string) => {} }: { dir?: string; log?: (m: string) => void } = {},
): Promise<string[]> {
  const client = new pg.Client({ connectionString });
  await client.connect();
  try {
    await takeLock(client);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name text PRIMARY KEY,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const done = new Map(
      (await client.query<{ name: string; checksum: string }>('SELECT name, checksum FROM schema_migrations')).rows.map(
        (r) => [r.name, r.checksum],
      ),
    );
    const files = await readMigrations(dir);
    const edited = files.filter((f) => done.has(f.name) && done.get(f.name) !== f.checksum).map((f) => f.name);
    if (edited.length) throw new MigrationChecksumError(edited);
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file.name)) continue;
      log(`applying migration ${file.name}`);
      try {
        if (file.noTransaction) {
          for (const statement of splitStatements(file.sql)) await client.query(statement);
          await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [
            file.name,
            file.checksum,
          ]);
        } else {
          await client.query('BEGIN');
          await client.query(file.sql);
          await client.query('INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)', [
            file.name,
            file.checksum,
          ]);
          await client.query('COMMIT');
        }
      } catch (err) {
        if (!file.noTransaction) await client.query('ROLLBACK').catch(() => {});
        throw new MigrationError(file.name, err);
      }
      applied.push(file.name);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => {});
    await client.end();
  }
}
