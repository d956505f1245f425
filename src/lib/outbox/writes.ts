// The local write path: every action writes the overlay row the UI shows at once and its
// outbox entry in ONE local statement (a SQL function of local migration 4, write-sql.ts),
// durable before it reports "saved" (relaxed IndexedDB durability would otherwise lose a
// write followed by a reload). The tab reaches the database through a worker, so the number
// of statements, not their work, is what a tap waits for.
import {
  ACTIVE_STATUSES,
  RESCHEDULABLE_STATUSES,
  APPOINTMENT_STATUSES,
  canTransition,
  type AppointmentStatus,
  type Urgency,
} from '../shared/appointment-schemas';
import type { Queryable } from '../db/queries/queryable';
import type { OutboxDb } from './db';
import { entryJson, writeOneStatement } from './enqueue';

/** The action is impossible on the local data (unknown row, forbidden status move). */
export class LocalWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalWriteError';
  }
}

export interface LocalConflict {
  id: string;
  starts_at: string;
  ends_at: string;
  same_doctor: boolean;
}

/** The replica already holds an active appointment that overlaps: warn before queuing. */
export class LocalConflictError extends Error {
  constructor(readonly conflicts: LocalConflict[]) {
    super('The replica shows an overlapping appointment.');
    this.name = 'LocalConflictError';
  }
}

export interface BookingInput {
  id?: string;
  patient_id: string;
  doctor_id: string;
  starts_at: string;
  duration_minutes: number;
  urgency?: Urgency;
  reason?: string | null;
  /** the appointment type; its buffers count in the overlap check */
  type_id?: string | null;
  /** admin only: why a booking in the past is entered (back-fill) */
  backfill_reason?: string | null;
}

/** What the local write functions answer (src/lib/outbox/write-sql.ts). */
type Verdict =
  | { ok: true }
  | { refused: 'not_on_device' }
  | { refused: 'status'; from: AppointmentStatus }
  | { conflicts: LocalConflict[] };

/** Turns a refusal into the error the screens show; an accepted write passes. */
function accept(verdict: Verdict, refusedFrom?: (status: AppointmentStatus) => string): void {
  if ('ok' in verdict) return;
  if ('conflicts' in verdict) throw new LocalConflictError(verdict.conflicts);
  if (verdict.refused === 'status' && refusedFrom) throw new LocalWriteError(refusedFrom(verdict.from));
  throw new LocalWriteError('This appointment is not on this device.');
}

/** The statuses an appointment may move to `to` from (the shared state machine). */
function allowedFrom(to: AppointmentStatus): AppointmentStatus[] {
  return APPOINTMENT_STATUSES.filter((from) => canTransition(from, to));
}

/** Copies the synced row into the overlay (once) so a local change can be layered on it. */
export async function ensureOverlay(tx: Queryable, id: string): Promise<void> {
  await tx.query('SELECT local_overlay_copy($1)', [id]);
}

/** Active appointments of the doctor (with buffers) or the patient that overlap [start, end). */
export async function localConflicts(
  db: Queryable,
  q: {
    doctor_id: string;
    patient_id: string;
    starts_at: string;
    ends_at: string;
    exclude?: string;
    buffer_before_minutes?: number;
    buffer_after_minutes?: number;
  },
): Promise<LocalConflict[]> {
  const { rows } = await db.query<{ conflicts: LocalConflict[] }>(
    'SELECT local_conflicts($1, $2, $3, $4, $5, $6, $7, $8) AS conflicts',
    [
      q.doctor_id,
      q.patient_id,
      q.starts_at,
      q.ends_at,
      q.exclude ?? null,
      [...ACTIVE_STATUSES],
      q.buffer_before_minutes ?? 0,
      q.buffer_after_minutes ?? 0,
    ],
  );
  return rows[0]!.conflicts;
}

// Each action below is one statement (one round trip to the database worker): the checks,
// the overlay row and the outbox entry happen together or not at all.

export async function bookLocally(
  db: OutboxDb,
  userId: string,
  input: BookingInput,
  { force = false } = {},
): Promise<string> {
  const id = input.id ?? crypto.randomUUID();
  const body = {
    id,
    patient_id: input.patient_id,
    doctor_id: input.doctor_id,
    starts_at: new Date(input.starts_at).toISOString(),
    duration_minutes: input.duration_minutes,
    urgency: input.urgency ?? 'routine',
    reason: input.reason ?? null,
    ...(input.type_id ? { type_id: input.type_id } : {}),
    ...(input.backfill_reason ? { backfill_reason: input.backfill_reason } : {}),
  };
  const entry = entryJson(userId, {
    kind: 'book',
    key: id,
    entityId: id,
    resultId: id,
    method: 'POST',
    path: '/api/appointments',
    body,
    needs: [body.patient_id],
  });
  const { verdict } = await writeOneStatement<{ verdict: Verdict }>(
    db,
    'SELECT local_book($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) AS verdict',
    [
      id,
      body.patient_id,
      body.doctor_id,
      body.starts_at,
      body.duration_minutes,
      body.urgency,
      body.reason,
      userId,
      !force,
      [...ACTIVE_STATUSES],
      entry,
      input.type_id ?? null,
    ],
  );
  accept(verdict);
  return id;
}

export async function changeStatusLocally(
  db: OutboxDb,
  userId: string,
  id: string,
  status: AppointmentStatus,
  reason?: string | null,
  { holdSeconds = 0, onlyFrom }: { holdSeconds?: number; onlyFrom?: AppointmentStatus } = {},
): Promise<string> {
  const cancel = status === 'cancelled';
  // onlyFrom: the status the caller checked its rules against; any other is refused.
  const from = allowedFrom(status).filter((s) => onlyFrom === undefined || s === onlyFrom);
  const key = crypto.randomUUID();
  const entry = entryJson(userId, {
    kind: cancel ? 'cancel' : 'status',
    key,
    entityId: id,
    resultId: null,
    method: 'POST',
    path: `/api/appointments/${id}/${cancel ? 'cancel' : 'status'}`,
    body: cancel ? { reason: reason ?? null } : { status },
    holdSeconds,
  });
  const { verdict } = await writeOneStatement<{ verdict: Verdict }>(
    db,
    'SELECT local_set_status($1, $2, $3, $4, $5, $6) AS verdict',
    [id, status, from, userId, reason ?? null, entry],
  );
  accept(verdict, (from) => `An appointment that is ${from} cannot become ${status}.`);
  return key;
}

export async function rescheduleLocally(
  db: OutboxDb,
  userId: string,
  id: string,
  to: { starts_at: string; duration_minutes?: number; new_id?: string },
  { force = false } = {},
): Promise<string> {
  const newId = to.new_id ?? crypto.randomUUID();
  const startsAt = new Date(to.starts_at).toISOString();
  // duration_minutes is filled in by local_reschedule when the move keeps the old duration.
  const entry = entryJson(userId, {
    kind: 'reschedule',
    key: newId,
    entityId: id,
    resultId: newId,
    method: 'POST',
    path: `/api/appointments/${id}/reschedule`,
    body: { new_id: newId, starts_at: startsAt, duration_minutes: to.duration_minutes ?? null },
  });
  const { verdict } = await writeOneStatement<{ verdict: Verdict }>(
    db,
    'SELECT local_reschedule($1, $2, $3, $4, $5, $6, $7, $8, $9) AS verdict',
    [
      id,
      newId,
      startsAt,
      to.duration_minutes ?? null,
      userId,
      [...RESCHEDULABLE_STATUSES],
      !force,
      [...ACTIVE_STATUSES],
      entry,
    ],
  );
  accept(verdict, (from) => `An appointment that is ${from} cannot be moved.`);
  return newId;
}
