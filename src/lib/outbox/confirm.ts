// Accepted entries wait for sync: once the synced row they wrote has arrived (appointments:
// at least the version the server answered; patients, which have no version: at least the
// updated_at it answered), the entry goes and, with no other entry on that row, the overlay
// row goes too, so the UI shows the server's row. The row is remembered in
// recent_confirmations for a while so lists can say "confirmed".
import type { OutboxDb } from './db';

/** How long a list keeps showing "confirmed" on a row whose local change the server confirmed. */
export const CONFIRMED_SHOWN_FOR = '2 minutes';

export async function confirmAccepted(db: OutboxDb): Promise<number> {
  // Most sender passes find nothing accepted: one statement then, not a transaction of three
  // (each statement is a round of messages to the database worker, competing with the taps).
  const { rows } = await db.query(`SELECT 1 FROM outbox WHERE state = 'accepted' LIMIT 1`);
  if (!rows.length) return 0;
  return db.transaction(async (tx) => {
    const done = await tx.query<{ entity_id: string; result_id: string | null }>(
      `DELETE FROM outbox o WHERE o.state = 'accepted' AND (
          (o.confirm_table = 'appointments' AND EXISTS (SELECT 1 FROM appointments_synced s
             WHERE s.id = o.confirm_id AND s.version >= o.confirm_version))
          OR (o.confirm_table = 'patients' AND EXISTS (SELECT 1 FROM patients_synced s
             WHERE s.id = o.confirm_id AND s.updated_at >= coalesce(o.confirm_updated_at, '-infinity'))))
        RETURNING o.entity_id, o.result_id`,
    );
    if (done.rows.length) {
      const ids = [...new Set(done.rows.flatMap((r) => [r.entity_id, r.result_id ?? r.entity_id]))];
      await tx.query(
        `INSERT INTO recent_confirmations (entity_id) SELECT unnest($1::uuid[])
         ON CONFLICT (entity_id) DO UPDATE SET confirmed_at = now()`,
        [ids],
      );
      await dropOrphanOverlays(tx);
    }
    return done.rows.length;
  });
}

/** Forgets old confirmations (only writes when there is one to forget: live queries read it). */
export async function forgetOldConfirmations(db: OutboxDb): Promise<void> {
  const old = `confirmed_at < now() - interval '${CONFIRMED_SHOWN_FOR}'`;
  const { rows } = await db.query(`SELECT 1 FROM recent_confirmations WHERE ${old} LIMIT 1`);
  if (rows.length) await db.query(`DELETE FROM recent_confirmations WHERE ${old}`);
}

/**
 * Overlay rows no outbox entry refers to any more: their change is confirmed or discarded.
 * A series entry refers to its occurrences through their series_id.
 */
export async function dropOrphanOverlays(tx: { query: OutboxDb['query'] }): Promise<void> {
  await tx.query(
    `DELETE FROM appointments_overlay a
      WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = a.id OR o.result_id = a.id
                           OR (o.kind LIKE 'series_%' AND o.result_id = a.series_id))`,
  );
  await tx.query(
    `DELETE FROM patients_overlay a
      WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.entity_id = a.id OR o.result_id = a.id)`,
  );
}

/**
 * Removes a rejected entry (the user chose "discard"), and the entries that depend on it;
 * the overlay row goes when nothing else refers to it.
 */
export async function discardEntry(db: OutboxDb, id: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`DELETE FROM outbox WHERE depends_on = $1 AND state IN ('pending', 'rejected')`, [id]);
    await tx.query(`DELETE FROM outbox WHERE id = $1 AND state = 'rejected'`, [id]);
    await dropOrphanOverlays(tx);
  });
  await db.syncToFs?.();
}
