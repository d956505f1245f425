// Offline edits of an appointment's reason, urgency and clinical notes (PATCH). Like every
// local write, the overlay row and the outbox entry are written in one local transaction.
//
// Versions: the server bumps `version` on every write to a row, and a PATCH must carry the
// version the row has when it arrives. The overlay row's version is therefore "the server's
// version once every queued change to this row is applied": each local change bumps it by
// one, and an edit sends the overlay's version from before its own bump.
import { updateAppointmentSchema, type Urgency } from '../shared/appointment-schemas';
import type { Queryable } from '../db/queries/queryable';
import { SYNCED_TABLES } from '../db/schema/tables';
import type { OutboxDb, OutboxError } from './db';
import { commitLocalWrite, enqueue } from './enqueue';
import { ensureOverlay, LocalWriteError } from './writes';

export interface AppointmentEdit {
  reason?: string | null;
  clinical_notes?: string | null;
  urgency?: Urgency;
}

/** The edit is not acceptable input; `fields` names the offending ones. */
export class EditValidationError extends LocalWriteError {
  constructor(
    message: string,
    readonly fields: string[],
  ) {
    super(message);
    this.name = 'EditValidationError';
  }
}

// Columns of the server's row that a rebase copies (the id stays).
const SERVER_COLS = SYNCED_TABLES.appointments.columns.filter((c) => c !== 'id').join(', ');

const editSchema = updateAppointmentSchema.omit({ version: true });

/** The same rules as the server's updateAppointmentSchema, so the outbox never queues junk. */
export function validateEdit(changes: AppointmentEdit): AppointmentEdit {
  const parsed = editSchema.safeParse(changes);
  if (!parsed.success) {
    const fields = [
      ...new Set(
        parsed.error.issues.flatMap((i) => (i.code === 'unrecognized_keys' ? i.keys : [String(i.path[0] ?? 'edit')])),
      ),
    ];
    throw new EditValidationError(`Invalid ${fields.join(', ')}: ${parsed.error.issues[0]!.message}`, fields);
  }
  // Only the fields the user changed travel: undefined means "leave as is", null clears.
  const edit = Object.fromEntries(Object.entries(parsed.data).filter(([, v]) => v !== undefined)) as AppointmentEdit;
  if (Object.keys(edit).length === 0) throw new EditValidationError('Nothing to change.', ['edit']);
  return edit;
}

/**
 * Layers the edit on the overlay row (copied from the synced row if needed), bumps its
 * version and queues the PATCH carrying the version from before the bump.
 */
async function applyEdit(tx: Queryable, userId: string, id: string, edit: AppointmentEdit): Promise<string> {
  await ensureOverlay(tx, id);
  const has = (k: keyof AppointmentEdit) => Object.prototype.hasOwnProperty.call(edit, k);
  const { rows } = await tx.query<{ before: number }>(
    `UPDATE appointments_overlay SET
       reason = CASE WHEN $2 THEN $3 ELSE reason END,
       urgency = CASE WHEN $4 THEN $5 ELSE urgency END,
       clinical_notes = CASE WHEN $6 THEN $7 ELSE clinical_notes END,
       version = coalesce(version, 1) + 1, local_updated_at = now()
     WHERE id = $1 AND NOT local_deleted RETURNING version - 1 AS before`,
    [
      id,
      has('reason'),
      edit.reason ?? null,
      has('urgency'),
      edit.urgency ?? null,
      has('clinical_notes'),
      edit.clinical_notes ?? null,
    ],
  );
  if (!rows[0]) throw new LocalWriteError('This appointment is not on this device.');
  const key = crypto.randomUUID();
  await enqueue(tx, userId, {
    kind: 'update',
    key,
    entityId: id,
    resultId: null,
    method: 'PATCH',
    path: `/api/appointments/${id}`,
    body: { ...edit, version: rows[0].before },
  });
  return key;
}

/** Edits reason / urgency / clinical notes locally and queues the PATCH; returns the entry id. */
export async function editAppointmentLocally(
  db: OutboxDb,
  userId: string,
  id: string,
  changes: AppointmentEdit,
): Promise<string> {
  const edit = validateEdit(changes);
  return commitLocalWrite(db, async (tx) => {
    const { rows } = await tx.query('SELECT 1 FROM appointments WHERE id = $1', [id]);
    if (!rows[0]) throw new LocalWriteError('This appointment is not on this device.');
    return applyEdit(tx, userId, id, edit);
  });
}

interface RejectedEdit {
  entity_id: string;
  body: AppointmentEdit & { version: number };
  last_error: OutboxError | null;
}

/** The server's row as a version_conflict answer carries it (details.current). */
export function conflictCurrent(error: OutboxError | null): ({ version: number } & Record<string, unknown>) | null {
  if (error?.code !== 'version_conflict') return null;
  const current = (error.details as { current?: { version?: unknown } } | undefined)?.current;
  return current && typeof current.version === 'number' ? (current as { version: number }) : null;
}

/**
 * Rebases the overlay row on the server's current row: the freshest of the conflict answer
 * and the synced row, plus one version per change still queued for this row (they bump it
 * on the server before the re-applied edit arrives). With no other change queued, the whole
 * row becomes the server's, so the page shows what someone else changed.
 */
async function rebaseOverlay(tx: Queryable, id: string, current: Record<string, unknown>): Promise<void> {
  const others = await tx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM outbox WHERE (entity_id = $1 OR result_id = $1) AND state <> 'rejected'`,
    [id],
  );
  const synced = await tx.query<{ version: number }>('SELECT version FROM appointments_synced WHERE id = $1', [id]);
  const syncedNewer = (synced.rows[0]?.version ?? 0) > Number(current.version);
  if (others.rows[0]!.n === 0) {
    if (syncedNewer) await tx.query('DELETE FROM appointments_overlay WHERE id = $1', [id]);
    await ensureOverlay(tx, id);
    // The server's values over the local row, field by field (a field it did not send stays).
    if (!syncedNewer)
      await tx.query(
        `UPDATE appointments_overlay o SET (${SERVER_COLS}) =
           (SELECT ${SERVER_COLS} FROM json_populate_record(o, $2::json)) WHERE o.id = $1`,
        [id, JSON.stringify(current)],
      );
    return;
  }
  const base = syncedNewer ? synced.rows[0]!.version : Number(current.version);
  await tx.query(
    `UPDATE appointments_overlay SET version = $2::int + (SELECT count(*)::int FROM outbox
       WHERE (entity_id = $1 OR result_id = $1) AND state IN ('pending', 'sending')) WHERE id = $1`,
    [id, base],
  );
}

/**
 * "Apply my edit again" on an edit the server refused with version_conflict: the same
 * changes are queued anew on top of the server's current version; the rejected entry goes.
 * Returns the new entry id.
 */
export async function reapplyEdit(db: OutboxDb, userId: string, entryId: string): Promise<string> {
  return commitLocalWrite(db, async (tx) => {
    const { rows } = await tx.query<RejectedEdit>(
      `SELECT entity_id, body, last_error FROM outbox WHERE id = $1 AND kind = 'update' AND state = 'rejected'`,
      [entryId],
    );
    const entry = rows[0];
    const current = conflictCurrent(entry?.last_error ?? null);
    if (!entry || !current) throw new LocalWriteError('Only an edit refused for a version conflict can be re-applied.');
    const { version: _stale, ...changes } = entry.body;
    await tx.query('DELETE FROM outbox WHERE id = $1', [entryId]);
    await rebaseOverlay(tx, entry.entity_id, current);
    return applyEdit(tx, userId, entry.entity_id, validateEdit(changes));
  });
}
