// Links committed audit rows into the hash chain, in batches, one chainer at a time.
//
// Writers append unchained rows (log.ts) and never wait for each other. Here, under an advisory
// lock (so several server instances can all run a chainer and only one links at a time), the
// head is read, each committed unchained row gets the next chain_seq, prev_hash and hash, and
// the head moves, all in one transaction. The chain's order is the order rows were seen
// committed; a row with a smaller id that commits later simply gets a later chain_seq.
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { auditRowHash, type AuditRowForHash } from './log.js';

const CHAINER_LOCK = 727_010; // arbitrary, constant: the advisory lock id of the chainer
const BATCH = 2_000;
export const DEFAULT_CHAIN_INTERVAL_MS = 200;

/**
 * Links up to one batch of unchained rows; returns how many were linked. With `wait` false it
 * gives up (0) when another chainer is linking; with `wait` true it waits its turn.
 */
export async function chainBatch(pool: Pool, { wait = true, batch = BATCH } = {}): Promise<number> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const lock = await client.query<{ ok: boolean }>(
      wait ? 'SELECT true AS ok FROM pg_advisory_xact_lock($1)' : 'SELECT pg_try_advisory_xact_lock($1) AS ok',
      [CHAINER_LOCK],
    );
    if (!lock.rows[0]!.ok) {
      await client.query('ROLLBACK');
      return 0;
    }
    const head = await client.query<{ last_seq: string; hash: string | null }>(
      'SELECT last_seq, hash FROM audit_chain_head FOR UPDATE',
    );
    const { rows } = await client.query<AuditRowForHash & { id: string }>(
      `SELECT id, actor_id, action, entity, entity_id, at, ip, user_agent, details
         FROM audit_log WHERE hash IS NULL ORDER BY id LIMIT $1`,
      [batch],
    );
    if (rows.length === 0) {
      await client.query('ROLLBACK');
      return 0;
    }
    let seq = Number(head.rows[0]!.last_seq);
    let prev = head.rows[0]!.hash;
    const ids: string[] = [];
    const seqs: number[] = [];
    const prevs: (string | null)[] = [];
    const hashes: string[] = [];
    for (const row of rows) {
      const hash = auditRowHash(prev, row);
      ids.push(row.id);
      seqs.push(++seq);
      prevs.push(prev);
      hashes.push(hash);
      prev = hash;
    }
    await client.query(
      `UPDATE audit_log a SET chain_seq = l.seq, prev_hash = l.prev, hash = l.hash
         FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS l(id, seq, prev, hash)
        WHERE a.id = l.id`,
      [ids, seqs, prevs, hashes],
    );
    await client.query('UPDATE audit_chain_head SET last_seq = $1, last_id = $2, hash = $3', [
      seq,
      ids[ids.length - 1],
      prev,
    ]);
    await client.query('COMMIT');
    return rows.length;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Links every row committed so far (several batches if needed); returns how many. */
export async function chainAll(pool: Pool, { wait = true } = {}): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await chainBatch(pool, { wait });
    total += n;
    if (n < BATCH) return total;
  }
}

/** The server's chainer: a pass every `intervalMs`, never two at once in this process. */
export class AuditChainer {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(private readonly options: { pool: Pool; logger?: Logger; intervalMs?: number }) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.options.intervalMs ?? DEFAULT_CHAIN_INTERVAL_MS);
    this.timer.unref();
  }

  private tick(): Promise<unknown> {
    if (!this.running) {
      // Another instance linking now is fine: it links these rows too.
      this.running = chainAll(this.options.pool, { wait: false })
        // A database outage shows elsewhere (readiness); the rows wait and are linked on return.
        .catch((err) => this.options.logger?.warn({ err }, 'audit chaining failed'))
        .finally(() => (this.running = undefined));
    }
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
    // Link what committed up to now, so a clean shutdown leaves nothing unchained.
    await chainAll(this.options.pool).catch((err) => this.options.logger?.warn({ err }, 'audit chaining failed'));
  }
}
