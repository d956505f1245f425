// Walks the audit chain in id order and recomputes every hash. Reports the first row whose
// stored prev_hash or hash does not match: an edited row, a deleted row (its successor's
// prev_hash no longer matches) or a chain end that disagrees with audit_chain_head
// (the newest rows were deleted).
import type { Pool } from '../db/pool.js';
import { auditRowHash, type AuditRowForHash } from './log.js';

export interface ChainReport {
  ok: boolean;
  checked: number;
  first_bad_id: number | null;
}

const BATCH = 5000;

interface StoredRow extends AuditRowForHash {
  id: number;
  prev_hash: string | null;
  hash: string;
}

/** One consistent snapshot (REPEATABLE READ): appends that commit meanwhile are not seen. */
export async function verifyAuditChain(pool: Pool): Promise<ChainReport> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    let checked = 0;
    let prevHash: string | null = null;
    let lastId = 0;
    for (;;) {
      const { rows } = await client.query<StoredRow>(
        `SELECT id, actor_id, action, entity, entity_id, at, ip, user_agent, details, prev_hash, hash
           FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2`,
        [lastId, BATCH],
      );
      for (const row of rows) {
        if (row.prev_hash !== prevHash || auditRowHash(prevHash, row) !== row.hash) {
          return { ok: false, checked, first_bad_id: Number(row.id) };
        }
        checked++;
        prevHash = row.hash;
        lastId = Number(row.id);
      }
      if (rows.length < BATCH) break;
    }
    const head = await client.query<{ last_id: number; hash: string | null }>(
      'SELECT last_id, hash FROM audit_chain_head',
    );
    const expected = head.rows[0];
    if (expected && (Number(expected.last_id) !== lastId || expected.hash !== prevHash)) {
      // Rows past the last one we saw were removed: point at the first id that is missing.
      return { ok: false, checked, first_bad_id: Math.min(Number(expected.last_id), lastId) + 1 };
    }
    return { ok: true, checked, first_bad_id: null };
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
}
