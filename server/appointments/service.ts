// Booking and rescheduling: lock the parents (doctors in id order, then the patient), check
// overlaps and working hours, write. The exclusion constraints stay behind the check: if one
// fires anyway (a write that bypassed the lock), it becomes the same 409 as the check's.
import { prepared, type Pool, type PoolClient, type Queryable } from '../db/pool.js';
import { constraintName, SQLSTATE, sqlState } from '../db/sqlstate.js';
import { conflict, forbidden, notFound, unprocessable, validationFailed } from '../http/errors.js';
import { idempotencyMismatch, type WriteAnswer } from '../http/idempotency.js';
import {
  RESCHEDULABLE_STATUSES,
  type CreateAppointmentInput,
  type RescheduleAppointmentInput,
  type Urgency,
} from '../../src/lib/shared/appointment-schemas.js';
import { bookingTimeRule } from '../../src/lib/shared/appointment-rules.js';
import { NO_BUFFERS, type Buffers } from '../../src/lib/shared/slots.js';
import { viewerOf, type Actor } from './actor.js';
import { outsideWorkingHours, PatientBusyError, SlotTakenError, unknownReference } from './errors.js';
import {
  activeOverlapSql,
  checkDoctorSlotAndLockPatient,
  doctorHours,
  findAppointment,
  insertAppointment,
  insertUnlessPatientBusy,
  lockAppointment,
  lockDoctors,
  lockPatient,
  overlapping,
  updateAppointment,
  type NewAppointment,
} from './queries.js';
import { withinWorkingHours } from './schedule.js';
import { moveReminders, reminderContextOf, scheduleReminders } from '../reminders/hooks.js';

const MINUTE = 60_000;

/** A clinician books only for their own doctor. */
function assertMayBookFor(actor: Actor, doctorId: string): void {
  if (actor.doctorId && actor.doctorId !== doctorId) throw forbidden('Clinicians book only for their own doctor.');
}

/** No booking or move into the past, unless an admin back-fills it with a reason (audited). */
function assertNotInPast(actor: Actor, startsAt: Date, now: Date, backfillReason: string | null | undefined): void {
  const broken = bookingTimeRule({ startsAt, now, isAdmin: actor.role === 'admin', backfillReason });
  if (broken) throw unprocessable(broken.code, broken.message);
}

/** The back-fill reason, for the audit entry of a write that starts in the past. */
const backfillAudit = (startsAt: Date, now: Date, reason: string | null | undefined) =>
  reason && startsAt.getTime() < now.getTime() ? { backfill_reason: reason } : {};

/**
 * The buffers a booking of this type gives the doctor. A type lists the doctors who offer it;
 * a type with no doctor listed is offered by all.
 */
export async function typeBuffers(
  db: Queryable,
  typeId: string | null | undefined,
  doctorId: string,
): Promise<Buffers> {
  if (!typeId) return NO_BUFFERS;
  const { rows } = await db.query<{ before: number; after: number; offered: boolean }>(
    `SELECT t.buffer_before_minutes AS before, t.buffer_after_minutes AS after,
            (NOT EXISTS (SELECT 1 FROM appointment_type_doctors x WHERE x.type_id = t.id)
             OR EXISTS (SELECT 1 FROM appointment_type_doctors x WHERE x.type_id = t.id AND x.doctor_id = $2)) AS offered
       FROM appointment_types t WHERE t.id = $1 AND t.active`,
    [typeId, doctorId],
  );
  const row = rows[0];
  if (!row) throw validationFailed([{ path: 'type_id', message: 'no such active appointment type' }]);
  if (!row.offered) throw unprocessable('type_not_offered', 'This doctor does not offer this appointment type.');
  return { before: row.before, after: row.after };
}

interface SlotRequest {
  doctorId: string;
  patientId: string;
  startsAt: Date;
  durationMinutes: number;
  urgency: Urgency;
  buffers: Buffers;
}

const endOf = (slot: SlotRequest) => new Date(slot.startsAt.getTime() + slot.durationMinutes * MINUTE);
/** The range the new appointment would hold its doctor for (with its buffers). */
const heldBy = (slot: SlotRequest) => ({
  from: new Date(slot.startsAt.getTime() - slot.buffers.before * MINUTE),
  to: new Date(endOf(slot).getTime() + slot.buffers.after * MINUTE),
});

/**
 * The doctor's row is locked: is the slot free? Checked first so that the many losers of a
 * contended slot hold the doctor's lock for one statement only.
 */
async function checkDoctorFree(tx: PoolClient, slot: SlotRequest): Promise<void> {
  const held = heldBy(slot);
  if ((await overlapping(tx, 'doctor_id', slot.doctorId, held.from, held.to)).length > 0) {
    throw new SlotTakenError(slot.doctorId, slot.startsAt, endOf(slot), slot.durationMinutes, slot.buffers);
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
async function insertChecked(
  tx: PoolClient,
  row: NewAppointment,
  insert: (tx: PoolClient, row: NewAppointment) => Promise<unknown> = insertAppointment,
): Promise<unknown> {
  try {
    return await insert(tx, row);
  } catch (err) {
    const endsAt = new Date(row.starts_at.getTime() + row.duration_minutes * MINUTE);
    const state = sqlState(err);
    const name = constraintName(err);
    if (state === SQLSTATE.exclusionViolation && name === 'appointments_no_doctor_overlap') {
      throw new SlotTakenError(row.doctor_id, row.starts_at, endsAt, row.duration_minutes, {
        before: row.buffer_before_minutes ?? 0,
        after: row.buffer_after_minutes ?? 0,
      });
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
export async function precheckBooking(
  pool: Pool,
  actor: Actor,
  input: CreateAppointmentInput,
  now: Date = new Date(),
): Promise<void> {
  assertMayBookFor(actor, input.doctor_id);
  const startsAt = new Date(input.starts_at);
  const endsAt = new Date(startsAt.getTime() + input.duration_minutes * MINUTE);
  const { rows } = await pool.query<{ known: boolean; taken: boolean; before: number; after: number }>(
    prepared(
      `WITH t AS (SELECT coalesce((SELECT buffer_before_minutes FROM appointment_types WHERE id = $5), 0) AS before,
                       coalesce((SELECT buffer_after_minutes FROM appointment_types WHERE id = $5), 0) AS after)
     SELECT EXISTS (SELECT 1 FROM idempotency_keys WHERE key = $1) AS known, t.before, t.after,
            EXISTS (SELECT 1 FROM appointments WHERE doctor_id = $2 AND ${activeOverlapSql(
              'doctor_id',
              `($3::timestamptz - make_interval(mins => t.before))`,
              `($4::timestamptz + make_interval(mins => t.after))`,
            )}) AS taken
       FROM t`,
      [input.id, input.doctor_id, startsAt, endsAt, input.type_id ?? null],
    ),
  );
  const row = rows[0]!;
  if (row.known) return;
  assertNotInPast(actor, startsAt, now, input.backfill_reason);
  if (row.taken) {
    throw new SlotTakenError(input.doctor_id, startsAt, endsAt, input.duration_minutes, {
      before: row.before,
      after: row.after,
    });
  }
}

export async function bookAppointment(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  input: CreateAppointmentInput,
  timeZone: string,
  {
    nowait = false,
    now = new Date(),
    seriesId = null,
  }: { nowait?: boolean; now?: Date; seriesId?: string | null } = {},
): Promise<WriteAnswer> {
  assertMayBookFor(actor, input.doctor_id);
  const startsAt = new Date(input.starts_at);
  assertNotInPast(actor, startsAt, now, input.backfill_reason);
  // What needs no lock is read before the doctor's lock: every statement run while it is held
  // makes every other booking for this doctor wait (the lock window is one round trip per
  // statement: lock, check + lock patient, insert, reminders, answer, audit, commit).
  const buffers = await typeBuffers(tx, input.type_id, input.doctor_id);
  const reminderContext = await reminderContextOf(tx, input.patient_id);
  if (!(await lockDoctors(tx, [input.doctor_id], { nowait })).has(input.doctor_id)) throw unknownReference('doctor_id');
  const slot = {
    doctorId: input.doctor_id,
    patientId: input.patient_id,
    startsAt,
    durationMinutes: input.duration_minutes,
    urgency: input.urgency,
    buffers,
  };
  const held = heldBy(slot);
  const check = await checkDoctorSlotAndLockPatient(tx, slot.doctorId, held.from, held.to, slot.patientId);
  if (check.doctorBusy) {
    throw new SlotTakenError(slot.doctorId, slot.startsAt, endOf(slot), slot.durationMinutes, slot.buffers);
  }
  if (!check.patientLocked) throw unknownReference('patient_id');
  if (slot.urgency !== 'emergency' && !withinWorkingHours(slot.startsAt, endOf(slot), check.hours, timeZone)) {
    throw outsideWorkingHours();
  }
  const inserted = await insertChecked(
    tx,
    {
      id: input.id,
      patient_id: input.patient_id,
      doctor_id: input.doctor_id,
      starts_at: startsAt,
      duration_minutes: input.duration_minutes,
      urgency: input.urgency,
      reason: input.reason ?? null,
      rescheduled_from: null,
      created_by: actor.id,
      type_id: input.type_id ?? null,
      buffer_before_minutes: buffers.before,
      buffer_after_minutes: buffers.after,
      series_id: seriesId,
    },
    insertUnlessPatientBusy,
  );
  if (!inserted) throw new PatientBusyError(slot.patientId, slot.startsAt, endOf(slot));
  await scheduleReminders(tx, input.id, timeZone, { startsAt, context: reminderContext });
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
        ...(input.type_id ? { type_id: input.type_id } : {}),
        ...backfillAudit(startsAt, now, input.backfill_reason),
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
  { now = new Date() }: { now?: Date } = {},
): Promise<WriteAnswer> {
  assertNotInPast(actor, new Date(input.starts_at), now, input.backfill_reason);
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
  // A move keeps the type; a move to another doctor must be to one who offers it.
  const typeId = (old.type_id as string | null) ?? null;
  const buffers =
    doctorId === old.doctor_id
      ? { before: Number(old.buffer_before_minutes ?? 0), after: Number(old.buffer_after_minutes ?? 0) }
      : await typeBuffers(tx, typeId, doctorId);
  const slot = { doctorId, patientId: old.patient_id, startsAt, durationMinutes, urgency: old.urgency, buffers };
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
    type_id: typeId,
    buffer_before_minutes: buffers.before,
    buffer_after_minutes: buffers.after,
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
        ...backfillAudit(startsAt, now, input.backfill_reason),
      },
    },
  };
}

export { answerWith };
