// The local write path: every action writes the overlay row the UI shows at once and its
// outbox entry in ONE local transaction, then flushes storage before it reports "saved"
// (relaxed IndexedDB durability would otherwise lose a write followed by a reload).
import {
  ACTIVE_STATUSES,
  RESCHEDULABLE_STATUSES,
  canTransition,
  type AppointmentStatus,
  type Urgency,
} from '../shared/appointment-schemas';
import type { Queryable } from '../db/queries/queryable';
import type { OutboxDb } from './db';
import { commitLocalWrite, enqueue } from './enqueue';

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
}

const APPOINTMENT_COLS =
  'id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, reason, clinical_notes, cancelled_by, cancelled_at, cancellation_reason, rescheduled_from, created_by, created_at, updated_at, deleted_at, version';

function endOf(startsAt: string, minutes: number): string {
  return new Date(Date.parse(startsAt) + minutes * 60_000).toISOString();
}

/** Active appointments of the doctor or the patient that overlap [start, end). */
export async function localConflicts(
  db: Queryable,
  q: { doctor_id: string; patient_id: string; starts_at: string; ends_at: string; exclude?: string },
): Promise<LocalConflict[]> {
  const { rows } = await db.query<LocalConflict>(
    `SELECT id, starts_at, ends_at, doctor_id = $1 AS same_doctor FROM appointments
      WHERE status = ANY($5::text[]) AND starts_at < $4 AND ends_at > $3
        AND (doctor_id = $1 OR patient_id = $2) AND id <> coalesce($6::uuid, '00000000-0000-0000-0000-000000000000')
      ORDER BY starts_at`,
    [q.doctor_id, q.patient_id, q.starts_at, q.ends_at, [...ACTIVE_STATUSES], q.exclude ?? null],
  );
  return rows;
}

/** Copies the synced row into the overlay (once) so a local change can be layered on it. */
export async function ensureOverlay(tx: Queryable, id: string): Promise<void> {
  await tx.query(
    `INSERT INTO appointments_overlay (${APPOINTMENT_COLS})
     SELECT ${APPOINTMENT_COLS} FROM appointments_synced WHERE id = $1 ON CONFLICT (id) DO NOTHING`,
    [id],
  );
}

async function currentRow(
  tx: Queryable,
  id: string,
): Promise<{
  status: AppointmentStatus;
  patient_id: string;
  doctor_id: string;
  duration_minutes: number;
  urgency: Urgency;
  reason: string | null;
}> {
  const { rows } = await tx.query<{
    status: AppointmentStatus;
    patient_id: string;
    doctor_id: string;
    duration_minutes: number;
    urgency: Urgency;
    reason: string | null;
  }>('SELECT status, patient_id, doctor_id, duration_minutes, urgency, reason FROM appointments WHERE id = $1', [id]);
  if (!rows[0]) throw new LocalWriteError('This appointment is not on this device.');
  return rows[0];
}

export async function bookLocally(
  db: OutboxDb,
  userId: string,
  input: BookingInput,
  { force = false } = {},
): Promise<string> {
  const id = input.id ?? crypto.randomUUID();
  const startsAt = new Date(input.starts_at).toISOString();
  const endsAt = endOf(startsAt, input.duration_minutes);
  if (!force) {
    const conflicts = await localConflicts(db, { ...input, starts_at: startsAt, ends_at: endsAt });
    if (conflicts.length) throw new LocalConflictError(conflicts);
  }
  const body = {
    id,
    patient_id: input.patient_id,
    doctor_id: input.doctor_id,
    starts_at: startsAt,
    duration_minutes: input.duration_minutes,
    urgency: input.urgency ?? 'routine',
    reason: input.reason ?? null,
  };
  await commitLocalWrite(db, async (tx) => {
    await tx.query(
      `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, reason, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8, $9, now(), now())`,
      [id, body.patient_id, body.doctor_id, startsAt, endsAt, body.duration_minutes, body.urgency, body.reason, userId],
    );
    await enqueue(tx, userId, {
      kind: 'book',
      key: id,
      entityId: id,
      resultId: id,
      method: 'POST',
      path: '/api/appointments',
      body,
      needs: [body.patient_id],
    });
  });
  return id;
}

export async function changeStatusLocally(
  db: OutboxDb,
  userId: string,
  id: string,
  status: AppointmentStatus,
  reason?: string | null,
): Promise<void> {
  await commitLocalWrite(db, async (tx) => {
    const row = await currentRow(tx, id);
    if (!canTransition(row.status, status))
      throw new LocalWriteError(`An appointment that is ${row.status} cannot become ${status}.`);
    await ensureOverlay(tx, id);
    await tx.query(
      `UPDATE appointments_overlay SET status = $2, local_updated_at = now(), version = coalesce(version, 1) + 1,
         cancelled_at = CASE WHEN $2 = 'cancelled' THEN now() ELSE cancelled_at END,
         cancelled_by = CASE WHEN $2 = 'cancelled' THEN $3::uuid ELSE cancelled_by END,
         cancellation_reason = CASE WHEN $2 = 'cancelled' THEN $4 ELSE cancellation_reason END
       WHERE id = $1`,
      [id, status, userId, reason ?? null],
    );
    const cancel = status === 'cancelled';
    await enqueue(tx, userId, {
      kind: cancel ? 'cancel' : 'status',
      key: crypto.randomUUID(),
      entityId: id,
      resultId: null,
      method: 'POST',
      path: `/api/appointments/${id}/${cancel ? 'cancel' : 'status'}`,
      body: cancel ? { reason: reason ?? null } : { status },
    });
  });
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
  const row = await currentRow(db, id);
  const minutes = to.duration_minutes ?? row.duration_minutes;
  if (!RESCHEDULABLE_STATUSES.includes(row.status))
    throw new LocalWriteError(`An appointment that is ${row.status} cannot be moved.`);
  if (!force) {
    const conflicts = await localConflicts(db, {
      ...row,
      starts_at: startsAt,
      ends_at: endOf(startsAt, minutes),
      exclude: id,
    });
    if (conflicts.length) throw new LocalConflictError(conflicts);
  }
  await commitLocalWrite(db, async (tx) => {
    await ensureOverlay(tx, id);
    await tx.query(
      `UPDATE appointments_overlay SET status = 'rescheduled', local_updated_at = now(), version = coalesce(version, 1) + 1 WHERE id = $1`,
      [id],
    );
    await tx.query(
      `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, reason, rescheduled_from, created_by, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'scheduled', $7, $8, $9, $10, now(), now())`,
      [
        newId,
        row.patient_id,
        row.doctor_id,
        startsAt,
        endOf(startsAt, minutes),
        minutes,
        row.urgency,
        row.reason,
        id,
        userId,
      ],
    );
    const body = { new_id: newId, starts_at: startsAt, duration_minutes: minutes };
    await enqueue(tx, userId, {
      kind: 'reschedule',
      key: newId,
      entityId: id,
      resultId: newId,
      method: 'POST',
      path: `/api/appointments/${id}/reschedule`,
      body,
    });
  });
  return newId;
}
