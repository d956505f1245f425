// Booking and rescheduling: lock the parents (doctors in id order, then the patient), check
// overlaps and working hours, write. The exclusion constraints stay behind the check: if one
// fires anyway (a write that bypassed the lock), it becomes the same 409 as the check's.
import type { Pool, PoolClient } from '../db/pool.js';
import { constraintName, SQLSTATE, sqlState } from '../db/sqlstate.js';
import { conflict, forbidden, notFound } from '../http/errors.js';
import { idempotencyMismatch, type WriteAnswer } from '../http/idempotency.js';
import {
  RESCHEDULABLE_STATUSES,
  type CreateAppointmentInput,
  type RescheduleAppointmentInput,
  type Urgency,
} from '../../src/lib/shared/appointment-schemas.js';
import { viewerOf, type Actor } from './actor.js';
import { outsideWorkingHours, PatientBusyError, SlotTakenError, unknownReference } from './errors.js';
import {
  ACTIVE_SQL,
  doctorHours,
  findAppointment,
  insertAppointment,
  lockAppointment,
  lockDoctors,
  lockPatient,
  overlapping,
  updateAppointment,
  type NewAppointment,
} from './queries.js';
import { withinWorkingHours } from './schedule.js';
import { moveReminders, scheduleReminders } from '../reminders/hooks.js';

const MINUTE = 60_000;

/** A clinician books only for their own doctor. */
function assertMayBookFor(actor: Actor, doctorId: string): void {
  if (actor.doctorId && actor.doctorId !== doctorId) throw forbidden('Clinicians book only for their own doctor.');
}

interface SlotRequest {
  doctorId: string;
  patientId: string;
  startsAt: Date;
  durationMinutes: number;
  urgency: Urgency;
}

const endOf = (slot: SlotRequest) => new Date(slot.startsAt.getTime() + slot.durationMinutes * MINUTE);

/**
 * The doctor's row is locked: is the slot free? Checked first so that the many losers of a
 * contended slot hold the doctor's lock for one statement only.
 */
async function checkDoctorFree(tx: PoolClient, slot: SlotRequest): Promise<void> {
  if ((await overlapping(tx, 'doctor_id', slot.doctorId, slot.startsAt, endOf(slot))).length > 0) {
    throw new SlotTakenError(slot.doctorId, slot.startsAt, endOf(slot), slot.durationMinutes);
  }
}

/** Working hours (emergencies are exempt), then the patient's own overlaps (their row is locked). */
async function checkHoursAndPatient(tx: PoolClient, slot: SlotRequest, timeZone: string): Promise<void> {
  if (slot.urgency !== 'emergency') {
    const hours = await doctorHours(tx, slot.doctorId);
    if (!withinWorkingHours(slot.startsAt, endOf(slot), hours, timeZone)) throw outsideWorkingHours();
  }
  if ((await overlapping(tx, 'patient_id', slot.patientId, slot.startsAt, endOf(slot))).length > 0) {
    throw new PatientBusyError(slot.patientId, slot.startsAt, endOf(slot));
  }
}

/** Inserts; a constraint that fires behind the check maps to the same outcomes. */
async function insertChecked(tx: PoolClient, row: NewAppointment): Promise<void> {
  try {
    await insertAppointment(tx, row);
  } catch (err) {
    const endsAt = new Date(row.starts_at.getTime() + row.duration_minutes * MINUTE);
    const state = sqlState(err);
    const name = constraintName(err);
    if (state === SQLSTATE.exclusionViolation && name === 'appointments_no_doctor_overlap') {
      throw new SlotTakenError(row.doctor_id, row.starts_at, endsAt, row.duration_minutes);
    }
    if (state === SQLSTATE.exclusionViolation && name === 'appointments_no_patient_overlap') {
      throw new PatientBusyError(row.patient_id, row.starts_at, endsAt);
    }
    // The id is taken by a row written without this request (e.g. imported data).
    if (state === SQLSTATE.uniqueViolation && name === 'appointments_pkey') throw idempotencyMismatch();
    throw err;
  }
}

async function answerWith(tx: PoolClient, actor: Actor, id: string, txid: number, status: number) {
  const appointment = await findAppointment(tx, viewerOf(actor), id);
  return { status, body: { appointment, txid } };
}

/**
 * Before queueing for the doctor's lock: is the slot already taken by a committed booking?
 * Then answer the 409 at once: under contention the losers fail in parallel instead of one by
 * one behind the lock. A key that is already known skips this (a replay must get its first
 * answer, not a conflict with its own row). One statement, so one snapshot for both. Only a
 * shortcut: the check under the lock stays the authority.
 */
export async function precheckBooking(pool: Pool, actor: Actor, input: CreateAppointmentInput): Promise<void> {
  assertMayBookFor(actor, input.doctor_id);
  const startsAt = new Date(input.starts_at);
  const endsAt = new Date(startsAt.getTime() + input.duration_minutes * MINUTE);
  const { rows } = await pool.query<{ known: boolean; taken: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = $1) AS known,
            EXISTS (SELECT 1 FROM appointments WHERE doctor_id = $2 AND deleted_at IS NULL AND ${ACTIVE_SQL}
                       AND starts_at < $4 AND ends_at > $3 AND starts_at > $3::timestamptz - interval '480 minutes') AS taken`,
    [input.id, input.doctor_id, startsAt, endsAt],
  );
  if (!rows[0]!.known && rows[0]!.taken) {
    throw new SlotTakenError(input.doctor_id, startsAt, endsAt, input.duration_minutes);
  }
}

export async function bookAppointment(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  input: CreateAppointmentInput,
  timeZone: string,
  { nowait = false } = {},
): Promise<WriteAnswer> {
  assertMayBookFor(actor, input.doctor_id);
  if (!(await lockDoctors(tx, [input.doctor_id], { nowait })).has(input.doctor_id)) throw unknownReference('doctor_id');
  const startsAt = new Date(input.starts_at);
  const slot = {
    doctorId: input.doctor_id,
    patientId: input.patient_id,
    startsAt,
    durationMinutes: input.duration_minutes,
    urgency: input.urgency,
  };
  await checkDoctorFree(tx, slot);
  if (!(await lockPatient(tx, input.patient_id))) throw unknownReference('patient_id');
  await checkHoursAndPatient(tx, slot, timeZone);
  await insertChecked(tx, {
    id: input.id,
    patient_id: input.patient_id,
    doctor_id: input.doctor_id,
    starts_at: startsAt,
    duration_minutes: input.duration_minutes,
    urgency: input.urgency,
    reason: input.reason ?? null,
    rescheduled_from: null,
    created_by: actor.id,
  });
  await scheduleReminders(tx, input.id, timeZone);
  return {
    ...(await answerWith(tx, actor, input.id, txid, 201)),
    audit: {
      action: 'appointment.book',
      entity: 'appointment',
      entityId: input.id,
      details: {
        doctor_id: input.doctor_id,
        patient_id: input.patient_id,
        starts_at: startsAt.toISOString(),
        duration_minutes: input.duration_minutes,
      },
    },
  };
}

/**
 * A new appointment with rescheduled_from = the old one, which becomes `rescheduled`, in one
 * transaction. Both doctors are locked in id order, so two crossing reschedules can't deadlock.
 */
export async function rescheduleAppointment(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  oldId: string,
  input: RescheduleAppointmentInput,
  timeZone: string,
): Promise<WriteAnswer> {
  const viewer = viewerOf(actor);
  const seen = await findAppointment(tx, viewer, oldId);
  if (!seen) throw notFound('Appointment');
  const doctorId = input.doctor_id ?? seen.doctor_id;
  assertMayBookFor(actor, doctorId);
  const locked = await lockDoctors(tx, [seen.doctor_id, doctorId]);
  if (!locked.has(doctorId)) throw unknownReference('doctor_id');
  await lockPatient(tx, seen.patient_id);
  const old = await lockAppointment(tx, oldId);
  if (!old) throw notFound('Appointment');
  if (!RESCHEDULABLE_STATUSES.includes(old.status)) {
    throw conflict('invalid_transition', `A ${old.status} appointment can't be rescheduled.`, {
      from: old.status,
      to: 'rescheduled',
    });
  }
  // The old slot is released first, so moving within (or next to) it is not a conflict with itself.
  await updateAppointment(tx, oldId, { status: 'rescheduled' });
  const startsAt = new Date(input.starts_at);
  const durationMinutes = input.duration_minutes ?? old.duration_minutes;
  const slot = { doctorId, patientId: old.patient_id, startsAt, durationMinutes, urgency: old.urgency };
  await checkDoctorFree(tx, slot);
  await checkHoursAndPatient(tx, slot, timeZone);
  await insertChecked(tx, {
    id: input.new_id,
    patient_id: old.patient_id,
    doctor_id: doctorId,
    starts_at: startsAt,
    duration_minutes: durationMinutes,
    urgency: old.urgency,
    reason: (old.reason as string | null) ?? null,
    rescheduled_from: oldId,
    created_by: actor.id,
  });
  await moveReminders(tx, oldId, input.new_id, timeZone);
  return {
    ...(await answerWith(tx, actor, input.new_id, txid, 201)),
    audit: {
      action: 'appointment.reschedule',
      entity: 'appointment',
      entityId: input.new_id,
      details: {
        rescheduled_from: oldId,
        doctor_id: doctorId,
        starts_at: startsAt.toISOString(),
        duration_minutes: durationMinutes,
      },
    },
  };
}

export { answerWith };
