// Moving an appointment from the schedule grid (drag, or the keyboard): another time and/or
// another doctor. Like every write: saved on this device in one statement (local_move,
// move-sql.ts), then sent by the outbox as the server's reschedule (which answers 409 with
// suggested slots when the time is taken).
import { ACTIVE_STATUSES, RESCHEDULABLE_STATUSES } from '../shared/appointment-schemas';
import type { OutboxDb } from './db';
import { entryJson, writeOneStatement } from './enqueue';
import { LocalConflictError, LocalWriteError, type LocalConflict } from './writes';

export interface MoveTarget {
  starts_at: string;
  doctor_id: string;
  duration_minutes?: number;
}

type Verdict =
  { ok: true } | { refused: 'not_on_device' } | { refused: 'status'; from: string } | { conflicts: LocalConflict[] };

export async function moveLocally(
  db: OutboxDb,
  userId: string,
  id: string,
  to: MoveTarget,
  { force = false, newId = crypto.randomUUID() } = {},
): Promise<string> {
  const startsAt = new Date(to.starts_at).toISOString();
  // duration_minutes and doctor_id are filled in by local_move from the row when unchanged.
  const entry = entryJson(userId, {
    kind: 'reschedule',
    key: newId,
    entityId: id,
    resultId: newId,
    method: 'POST',
    path: `/api/appointments/${id}/reschedule`,
    body: { new_id: newId, starts_at: startsAt, duration_minutes: null, doctor_id: null },
  });
  const { verdict } = await writeOneStatement<{ verdict: Verdict }>(
    db,
    'SELECT local_move($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS verdict',
    [
      id,
      newId,
      startsAt,
      to.duration_minutes ?? null,
      to.doctor_id,
      userId,
      [...RESCHEDULABLE_STATUSES],
      !force,
      [...ACTIVE_STATUSES],
      entry,
    ],
  );
  if ('ok' in verdict) return newId;
  if ('conflicts' in verdict) throw new LocalConflictError(verdict.conflicts);
  if (verdict.refused === 'status')
    throw new LocalWriteError(`An appointment that is ${verdict.from} cannot be moved.`);
  throw new LocalWriteError('This appointment is not on this device.');
}
