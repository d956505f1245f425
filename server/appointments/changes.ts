// Changes to one existing appointment: status moves (the state machine in docs/booking.md), cancel,
// PATCH of its fields and soft delete. Each locks the row, checks version and rules, writes.
import type { PoolClient } from '../db/pool.js';
import { constraintName, SQLSTATE, sqlState } from '../db/sqlstate.js';
import { conflict, forbidden, notFound, unprocessable } from '../http/errors.js';
import { REVERTS, statusTimeRule } from '../../src/lib/shared/appointment-rules.js';
import type { WriteAnswer } from '../http/idempotency.js';
import {
  STATUS_TRANSITIONS,
  canTransition,
  type AppointmentStatus,
  type UpdateAppointmentInput,
} from '../../src/lib/shared/appointment-schemas.js';
import { viewerOf, type Actor } from './actor.js';
import { outsideWorkingHours } from './errors.js';
import {
  doctorHours,
  findAppointment,
  lockAppointment,
  updateAppointment,
  type AppointmentChanges,
  type AppointmentRow,
} from './queries.js';
import { withinWorkingHours } from './schedule.js';
import { answerWith } from './service.js';
import { stopReminders } from '../reminders/hooks.js';

/** The row, locked, if it exists, is live and the actor may see it; 404 otherwise. */
async function lockVisible(tx: PoolClient, actor: Actor, id: string): Promise<AppointmentRow> {
  const row = await lockAppointment(tx, id);
  if (!row || (actor.doctorId && row.doctor_id !== actor.doctorId)) throw notFound('Appointment');
  return row;
}

async function assertVersion(tx: PoolClient, actor: Actor, row: AppointmentRow, version: number | undefined) {
  if (version === undefined || version === row.version) return;
  const current = await findAppointment(tx, viewerOf(actor), row.id);
  throw conflict('version_conflict', 'The appointment was changed by someone else; reload it and try again.', {
    current,
  });
}

function assertTransition(from: AppointmentStatus, to: AppointmentStatus) {
  if (canTransition(from, to)) return;
  throw conflict('invalid_transition', `An appointment can't go from ${from} to ${to}.`, {
    from,
    to,
    allowed: STATUS_TRANSITIONS[from],
  });
}

function statusChanges(actor: Actor, to: AppointmentStatus, reason: string | null): AppointmentChanges {
  if (to !== 'cancelled') return { status: to };
  return { status: to, cancelled_at: 'now', cancelled_by: actor.id, cancellation_reason: reason };
}

/** The time rules of a status change (src/lib/shared/appointment-rules.ts). */
export interface StatusRules {
  timeZone: string;
  checkInEarlyMinutes: number;
  now: Date;
}

/** A reverted no-show takes its slot back: someone may have booked it meanwhile. */
async function updateReactivating(tx: PoolClient, id: string, changes: AppointmentChanges): Promise<void> {
  await tx.query('SAVEPOINT reactivate');
  try {
    await updateAppointment(tx, id, changes);
  } catch (err) {
    if (sqlState(err) !== SQLSTATE.exclusionViolation) throw err;
    await tx.query('ROLLBACK TO SAVEPOINT reactivate');
    const who = constraintName(err) === 'appointments_no_patient_overlap' ? 'The patient' : 'The doctor';
    throw conflict(
      constraintName(err) === 'appointments_no_patient_overlap' ? 'patient_conflict' : 'slot_conflict',
      `${who} has another appointment at that time now; the no-show can't be reverted.`,
      { conflicts: [] },
    );
  }
}

export async function changeStatus(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  id: string,
  to: AppointmentStatus,
  options: { version?: number; reason?: string | null; rules?: StatusRules },
): Promise<WriteAnswer> {
  const row = await lockVisible(tx, actor, id);
  await assertVersion(tx, actor, row, options.version);
  assertTransition(row.status, to);
  if (options.rules) {
    const broken = statusTimeRule({
      from: row.status,
      to,
      startsAt: row.starts_at,
      now: options.rules.now,
      timeZone: options.rules.timeZone,
      checkInEarlyMinutes: options.rules.checkInEarlyMinutes,
    });
    if (broken) throw unprocessable(broken.code, broken.message, { from: row.status, to });
  }
  const changes = statusChanges(actor, to, options.reason ?? null);
  const revert = REVERTS[row.status] === to;
  if (revert && row.status === 'no_show') await updateReactivating(tx, id, changes);
  else await updateAppointment(tx, id, changes);
  await stopReminders(tx, id, to);
  return {
    ...(await answerWith(tx, actor, id, txid, 200)),
    audit: {
      action: to === 'cancelled' ? 'appointment.cancel' : revert ? 'appointment.revert' : 'appointment.status',
      entity: 'appointment',
      entityId: id,
      details: { from: row.status, to, ...(to === 'cancelled' ? { reason: options.reason ?? null } : {}) },
    },
  };
}

export async function updateFields(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  id: string,
  input: UpdateAppointmentInput,
  timeZone: string,
): Promise<WriteAnswer> {
  if (input.clinical_notes !== undefined && !viewerOf(actor).seesNotes) {
    throw forbidden('Only clinicians and admins may write clinical notes.');
  }
  const row = await lockVisible(tx, actor, id);
  await assertVersion(tx, actor, row, input.version);
  // Dropping the emergency exemption must not leave an appointment outside working hours.
  if (row.urgency === 'emergency' && input.urgency && input.urgency !== 'emergency') {
    if (!withinWorkingHours(row.starts_at, row.ends_at, await doctorHours(tx, row.doctor_id), timeZone)) {
      throw outsideWorkingHours();
    }
  }
  const changes: AppointmentChanges = {};
  if (input.reason !== undefined) changes.reason = input.reason;
  if (input.clinical_notes !== undefined) changes.clinical_notes = input.clinical_notes;
  if (input.urgency !== undefined) changes.urgency = input.urgency;
  await updateAppointment(tx, id, changes);
  return {
    ...(await answerWith(tx, actor, id, txid, 200)),
    // Which fields changed, never their text: notes are clinical data.
    audit: {
      action: 'appointment.update',
      entity: 'appointment',
      entityId: id,
      details: { fields: Object.keys(changes) },
    },
  };
}

/** Soft delete: the row stays (history, audit) but leaves every list and replica. */
export async function softDelete(tx: PoolClient, txid: number, actor: Actor, id: string): Promise<WriteAnswer> {
  await lockVisible(tx, actor, id);
  await updateAppointment(tx, id, { deleted_at: 'now' });
  await stopReminders(tx, id, 'deleted');
  return {
    status: 204,
    headers: { 'X-Txid': String(txid) },
    audit: { action: 'appointment.delete', entity: 'appointment', entityId: id },
  };
}
