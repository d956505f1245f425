// Audit rows of many concurrent requests committed together ("group commit"). Each caller
// still waits until its own row is committed, exactly as with a transaction of its own, so
// nothing is sent before it is on record; but the answers of one sync wake-up (hundreds of live
// clients of a shape get the same change at once) share one INSERT and one commit instead of
// paying one each. When it is quiet a row is written at once.
import type { Pool } from '../db/pool.js';
import { withTransaction } from '../db/transaction.js';
import { appendAuditRows, type AuditEntry } from './log.js';

interface Waiting {
  entry: AuditEntry;
  settle(err?: unknown): void;
}

export class GroupAuditWriter {
  private queue: Waiting[] = [];
  private flushing = false;

  constructor(
    private readonly pool: Pool,
    // Rows per INSERT (arrays through unnest, so no parameter limit): large enough that one
    // wake-up of a shape with 2,000 live clients is one commit, not two in a row.
    private readonly maxRows = 5000,
    /**
     * Commit without waiting for the WAL flush (synchronous_commit = off): for rows that record
     * reads, where a database crash may lose the last fraction of a second of them
     * (wal_writer_delay) but never a write (see server/http/audited-read.ts).
     */
    private readonly asyncCommit = false,
  ) {}

  /** Resolves once the row is committed; rejects (nothing was stored) if its batch failed. */
  write(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ entry, settle: (err) => (err ? reject(err) : resolve()) });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    try {
      // One turn of the event loop lets the other answers of the same wake-up join the batch.
      await new Promise((r) => setImmediate(r));
      while (this.queue.length) {
        const batch = this.queue.splice(0, this.maxRows);
        try {
          await withTransaction(this.pool, async (tx) => {
            if (this.asyncCommit) await tx.query('SET LOCAL synchronous_commit = off');
            await appendAuditRows(
              tx,
              batch.map((w) => w.entry),
            );
          });
          for (const w of batch) w.settle();
        } catch (err) {
          if (batch.length === 1) batch[0]!.settle(err);
          // One bad row must not fail the others: each is written again, alone.
          else
            await Promise.all(
              batch.map((w) =>
                withTransaction(this.pool, (tx) => appendAuditRows(tx, [w.entry])).then(
                  () => w.settle(),
                  (e: unknown) => w.settle(e),
                ),
              ),
            );
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
