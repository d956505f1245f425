// Makes a table streamable for a router that serves any readable table (the standalone
// service): in the publication, with full old rows in the WAL.
import pg from 'pg';
import type { Pool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import type { TableInfo } from './table-info.js';

const replicated = new Map<string, Promise<void>>();

/**
 * Once per table (by OID) in this process; across processes an advisory lock orders the
 * catalog changes, so concurrent first requests never race on the publication.
 */
export function ensureReplicated(pool: Pool, info: TableInfo, publication: string): Promise<void> {
  const key = `${publication}:${info.oid}`;
  let done = replicated.get(key);
  if (!done) {
    done = addToPublication(pool, info, publication);
    replicated.set(key, done);
    done.catch(() => replicated.delete(key));
  }
  return done;
}

async function addToPublication(pool: Pool, info: TableInfo, publication: string): Promise<void> {
  const table = `${pg.escapeIdentifier(info.schema)}.${pg.escapeIdentifier(info.name)}`;
  await withTransaction(pool, async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('sync publication ' || $1))`, [publication]);
    const { rows } = await tx.query<{ ident: string; published: boolean }>(
      `SELECT c.relreplident AS ident,
              EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                       WHERE p.pubname = $2 AND pr.prrelid = c.oid)
              OR EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $2 AND puballtables) AS published
         FROM pg_class c WHERE c.oid = $1`,
      [info.oid, publication],
    );
    if (!rows[0]) throw Object.assign(new Error(`relation ${table} does not exist`), { code: '42P01' });
    if (rows[0].ident !== 'f') await tx.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    if (!rows[0].published) {
      const exists = await tx.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
      const pub = pg.escapeIdentifier(publication);
      await tx.query(
        exists.rowCount
          ? `ALTER PUBLICATION ${pub} ADD TABLE ${table}`
          : `CREATE PUBLICATION ${pub} FOR TABLE ${table}`,
      );
    }
  });
}
