// Walks the audit chain in chain order (chain_seq) and recomputes every hash. Reports the first
// row whose stored prev_hash or hash does not match: an edited row, a deleted row (its
// successor's prev_hash no longer matches) or a chain end that disagrees with audit_chain_head
// (the newest rows were deleted). Also reports the rows not yet linked by the chainer: the
// window in which a committed audit row is stored but not yet covered by a hash.
import type { Pool } from '../db/pool.js';
import { auditRowHash, type AuditRowForHash } from './log.js';

export interface ChainReport {
  ok: boolean;
  checked: number;
  first_bad_id: number | null;
  /** Committed rows the chainer has not linked yet (normally those of the last fraction of a second). */
  unchained: number;
  /** Age in milliseconds of the oldest unchained row, or null when there is none. */
  oldest_unchained_ms: number | null;
}

const BATCH = 5000;

interface StoredRow extends AuditRowForHash {
  id: number;
  chain_seq: string;
  prev_hash: string | null;
  hash: string;
}

/** One consistent snapshot (REPEATABLE READ): appends that commit meanwhile are not seen. */
export async function verifyAuditChain(pool: Pool): Promise<ChainReport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const window = await client.query<{ unchained: number; oldest_ms: number | null }>(
      `SELECT count(*)::int AS unchained,
              (extract(epoch FROM clock_timestamp() - min(at)) * 1000)::float8 AS oldest_ms
         FROM audit_log WHERE hash IS NULL`,
    );
    const pending = {
      unchained: window.rows[0]!.unchained,
      oldest_unchained_ms:
        window.rows[0]!.oldest_ms === null ? null : Math.max(0, Math.round(window.rows[0]!.oldest_ms)),
    };
    let checked = 0;
    let prevHash: string | null = null;
    let lastSeq = 0;
    for (;;) {
      const { rows } = await client.query<StoredRow>(
        `SELECT id, chain_seq, actor_id, action, entity, entity_id, at, ip, user_agent, details, prev_hash, hash
           FROM audit_log WHERE chain_seq > $1 ORDER BY chain_seq LIMIT $2`,
        [lastSeq, BATCH],
      );
      for (const row of rows) {
        const seq = Number(row.chain_seq);
        if (seq !== lastSeq + 1 || row.prev_hash !== prevHash || auditRowHash(prevHash, row) !== row.hash) {
          return { ok: false, checked, first_bad_id: Number(row.id), ...pending };
        }
        checked++;
        prevHash = row.hash;
        lastSeq = seq;
      }
      if (rows.length < BATCH) break;
    }
    const head = await client.query<{ last_seq: string; last_id: string; hash: string | null }>(
      'SELECT last_seq, last_id, hash FROM audit_chain_head',
    );
    const expected = head.rows[0];
    if (expected && (Number(expected.last_seq) !== lastSeq || expected.hash !== prevHash)) {
      // The newest chained rows were removed: point at the one the head names.
      return { ok: false, checked, first_bad_id: Number(expected.last_id), ...pending };
    }
    return { ok: true, checked, first_bad_id: null, ...pending };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}
