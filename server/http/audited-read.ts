// Reads of patient data are answered only once their audit row is committed, so the answer
// exists only if its audit row does.
import type { Request } from 'express';
import { GroupAuditWriter } from '../audit/group-writer.js';
import { auditContext, type AuditEntry } from '../audit/log.js';
import type { Pool, PoolClient } from '../db/pool.js';

const writers = new WeakMap<Pool, GroupAuditWriter>();
/** One group writer per pool: the audit rows of concurrent reads share an INSERT and a commit. */
function readAuditWriter(pool: Pool): GroupAuditWriter {
  let writer = writers.get(pool);
  if (!writer) {
    writer = new GroupAuditWriter(pool, 5000, true);
    writers.set(pool, writer);
  }
  return writer;
}

/**
 * Runs `read` on a connection of its own (no transaction: under READ COMMITTED each statement
 * has its own snapshot either way), then appends the audit row it describes and resolves once
 * that row is committed. The rows of reads that finish together are committed together (a
 * group writer: a plain INSERT, no lock; the chainer links them later), so a read costs its
 * own statements and a share of one commit, instead of BEGIN, INSERT and COMMIT of its own.
 * The commit is asynchronous (synchronous_commit = off): it changes no clinical data, and
 * waiting for the WAL flush would put the disk on every read's path. The trade-off: a crash
 * of the database server can lose the read-audit rows of its last fraction of a second
 * (wal_writer_delay, 200 ms by default); never a write, and the chain stays intact, since
 * rows are only chained after they committed.
 */
export async function auditedRead<T>(
  pool: Pool,
  req: Request,
  read: (db: PoolClient) => Promise<T>,
  describe: (result: T) => Omit<AuditEntry, 'actorId' | 'ip' | 'userAgent'>,
): Promise<T> {
  const client = await pool.connect();
  let result: T;
  try {
    result = await read(client);
  } finally {
    client.release();
  }
  await readAuditWriter(pool).write({ ...auditContext(req), ...describe(result) });
  return result;
}
