// Reads of patient data run in one transaction with their audit row, so the answer exists
// only if its audit row does.
import type { Request } from 'express';
import { appendAudit, auditContext, type AuditEntry } from '../audit/log.js';
import type { Pool, PoolClient } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';

/**
 * Runs `read`, appends the audit row it describes (a plain insert: no lock, the chainer links
 * it later), commits. The commit of a read is asynchronous (synchronous_commit = off): it
 * changes no clinical data, and waiting for the WAL flush would put the disk on every read's
 * path. The trade-off: a crash of the database server can lose the read-audit rows of its
 * last fraction of a second (wal_writer_delay, 200 ms by default); never a write, and the
 * chain stays intact, since rows are only chained after they committed.
 */
export async function auditedRead<T>(
  pool: Pool,
  req: Request,
  read: (tx: PoolClient) => Promise<T>,
  describe: (result: T) => Omit<AuditEntry, 'actorId' | 'ip' | 'userAgent'>,
): Promise<T> {
  return withTransaction(pool, async (tx) => {
    const result = await read(tx);
    await tx.query('SET LOCAL synchronous_commit = off');
    await appendAudit(tx, { ...auditContext(req), ...describe(result) });
    return result;
  });
}
