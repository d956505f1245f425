// Startup check of an external PostgreSQL: says exactly what to change when it can't host us.
import pg from 'pg';

export class DatabaseRequirementError extends Error {}

export async function checkDatabaseServer(connectionString: string): Promise<void> {
  const client = new pg.Client({ connectionString });
  try {
    await client.connect();
  } catch (err) {
    throw new DatabaseRequirementError(
      `Cannot connect to DATABASE_URL (${redact(connectionString)}): ${(err as Error).message}`,
    );
  }
  try {
    const { rows } = await client.query<{ version: number; wal_level: string; can_replicate: boolean }>(
      `SELECT current_setting('server_version_num')::int AS version,
              current_setting('wal_level') AS wal_level,
              (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS can_replicate`,
    );
    const { version, wal_level, can_replicate } = rows[0]!;
    const problems: string[] = [];
    if (version < 140000)
      problems.push(`PostgreSQL ${Math.floor(version / 10000)} is too old: version 14 or newer is required.`);
    if (wal_level !== 'logical')
      problems.push(
        `wal_level is '${wal_level}': set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL.`,
      );
    if (!can_replicate)
      problems.push('The database role may not replicate: run ALTER ROLE <role> WITH REPLICATION as a superuser.');
    if (problems.length)
      throw new DatabaseRequirementError(
        `The database at DATABASE_URL can't run this app:\n  ${problems.join('\n  ')}`,
      );
  } finally {
    await client.end();
  }
}

export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable URL>';
  }
}
