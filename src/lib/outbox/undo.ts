// Undo of a one-tap step while it still waits on the device (the outbox holds it for
// UNDO_SECONDS before the sender may send it): the entry goes and the row shows the status it
// had. Once the entry has left (or its hold is over), the step can only be reverted by a new
// change (checked_in → scheduled, no_show → scheduled), which the server audits.
import type { OutboxDb } from './db';
import { commitLocalWrite } from './enqueue';
import { LocalWriteError } from './writes';

export async function undoStep(db: OutboxDb, entryId: string): Promise<void> {
  await commitLocalWrite(db, async (tx) => {
    const { rows } = await tx.query<{ entity_id: string; seq: number; previous: string }>(
      `SELECT entity_id, seq, undo->>'status' AS previous FROM outbox
        WHERE id = $1 AND kind = 'status' AND state = 'pending' AND undo IS NOT NULL AND next_attempt_at > now()`,
      [entryId],
    );
    const entry = rows[0];
    if (!entry) throw new LocalWriteError('Too late to undo: the change has left this device.');
    const later = await tx.query('SELECT 1 FROM outbox WHERE (entity_id = $1 OR result_id = $1) AND seq > $2', [
      entry.entity_id,
      entry.seq,
    ]);
    if (later.rows.length) throw new LocalWriteError('A later change to this appointment is queued: undo that first.');
    await tx.query('DELETE FROM outbox WHERE id = $1', [entryId]);
    const others = await tx.query('SELECT 1 FROM outbox WHERE entity_id = $1 OR result_id = $1 LIMIT 1', [
      entry.entity_id,
    ]);
    if (others.rows.length === 0) {
      // Nothing else changed the row here: the synced row shows again, as it was.
      await tx.query('DELETE FROM appointments_overlay WHERE id = $1', [entry.entity_id]);
    } else {
      await tx.query(
        'UPDATE appointments_overlay SET status = $2, version = version - 1, local_updated_at = now() WHERE id = $1',
        [entry.entity_id, entry.previous],
      );
    }
  });
}
