// Accepted entries wait for sync: once the synced row they wrote has arrived (at least the
// version the server answered), the entry goes and, with no other entry on that row, the
// overlay row goes too, so the UI shows the server's row ("confirmed").
import type { OutboxDb } from './db';

export async function confirmAccepted(db: OutboxDb): Promise<number> {
  return db.transaction(async (tx) => {
    const done = await tx.query<{ id: string }>(
      `DELETE FROM outbox o USING appointments_synced s
        WHERE o.state = 'accepted' AND s.id = o.confirm_id AND s.version >= o.confirm_version
        RETURNING o.id`,
    );
    if (done.rows.length) await dropOrphanOverlays(tx);
    return done.rows.length;
  });
}

/** Overlay rows no outbox entry refers to any more: their change is confirmed or discarded. */
export async function dropOrphanOverlays(tx: { query: OutboxDb['query'] }): Promise<void> {
  await tx.query(
    `DELETE FROM appointments_overlay a
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
