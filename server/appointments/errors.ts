// Booking outcomes that become 409/422 answers. Slot and patient conflicts are raised inside
// the transaction but answered after it rolled back: their details (the conflicting rows and
// the suggested free slots) are read outside it, so a rejected booking never holds the
// doctor's lock while suggestions are computed.
import type { Pool } from '../db/pool.js';
import { conflict, unprocessable, validationFailed } from '../http/errors.js';
import { doctorBusy, doctorHours, overlapping, type Interval } from './queries.js';
import { suggestSlots, suggestionWindow } from './schedule.js';
import { NO_BUFFERS, type Buffers } from '../../src/lib/shared/slots.js';

export class SlotTakenError extends Error {
  constructor(
    readonly doctorId: string,
    readonly startsAt: Date,
    readonly endsAt: Date,
    readonly durationMinutes: number,
    readonly buffers: Buffers = NO_BUFFERS,
  ) {
    super('slot taken');
  }
}

export class PatientBusyError extends Error {
  constructor(
    readonly patientId: string,
    readonly startsAt: Date,
    readonly endsAt: Date,
  ) {
    super('patient busy');
  }
}

export const outsideWorkingHours = () =>
  unprocessable('outside_working_hours', "The appointment is outside the doctor's working hours.");

export const unknownReference = (field: 'doctor_id' | 'patient_id') =>
  validationFailed([{ path: field, message: field === 'doctor_id' ? 'no such active doctor' : 'no such patient' }]);

const intervalJson = (i: Pick<Interval, 'id' | 'starts_at' | 'ends_at'>) => ({
  id: i.id,
  starts_at: i.starts_at.toISOString(),
  ends_at: i.ends_at.toISOString(),
});

/**
 * Turns a SlotTakenError / PatientBusyError into its 409 with details; other errors pass.
 * `doctorScope` is the caller's read scope (a clinician's doctor): the conflicting rows listed
 * are only those the caller could read anyway, so a clinician learns that the patient is busy
 * with another doctor, not that appointment's id or times.
 * `movingId`: the appointment a refused reschedule would have moved. The write rolled back,
 * so it still holds its old time; that time is free for the move itself (the reschedule
 * releases it first), so suggestions may offer it and the slots around it.
 */
export async function explainConflict(
  pool: Pool,
  timeZone: string,
  err: unknown,
  now = new Date(),
  doctorScope: string | null = null,
  movingId: string | null = null,
): Promise<unknown> {
  if (err instanceof SlotTakenError) {
    const held = {
      from: new Date(err.startsAt.getTime() - err.buffers.before * 60_000),
      to: new Date(err.endsAt.getTime() + err.buffers.after * 60_000),
    };
    const conflicts = await overlapping(pool, 'doctor_id', err.doctorId, held.from, held.to, doctorScope);
    const window = suggestionWindow(err.startsAt, timeZone);
    const [hours, busyAll] = await Promise.all([
      doctorHours(pool, err.doctorId),
      doctorBusy(pool, err.doctorId, window.from, window.to),
    ]);
    const busy = busyAll.filter((b) => b.id !== movingId);
    const suggestions = suggestSlots(err.startsAt, err.durationMinutes, hours, busy, timeZone, now, 3, err.buffers);
    return conflict('slot_conflict', 'The doctor already has an appointment at that time.', {
      conflicts: conflicts.filter((c) => c.id !== movingId).map(intervalJson),
      suggestions: suggestions.map((s) => ({ starts_at: s.starts_at.toISOString(), ends_at: s.ends_at.toISOString() })),
    });
  }
  if (err instanceof PatientBusyError) {
    const conflicts = await overlapping(pool, 'patient_id', err.patientId, err.startsAt, err.endsAt, doctorScope);
    return conflict('patient_conflict', 'The patient already has an appointment at that time.', {
      conflicts: conflicts.map(intervalJson),
    });
  }
  return err;
}

/** Runs a write; a booking conflict leaves it as a 409 with the details the caller may read. */
export async function withConflictDetails(
  pool: Pool,
  timeZone: string,
  write: () => Promise<void>,
  doctorScope: string | null = null,
  now = new Date(),
  { movingId = null }: { movingId?: string | null } = {},
): Promise<void> {
  try {
    await write();
  } catch (err) {
    throw await explainConflict(pool, timeZone, err, now, doctorScope, movingId);
  }
}
