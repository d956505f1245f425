// The waitlist's writes. Offers are made by the database (migration 0051's trigger, in the
// transaction that frees a slot); booking an offer goes through the single-booking path, so
// every booking rule holds, and closes the entry in the same transaction.
import type { PoolClient } from '../db/pool.js';
import { SQLSTATE, constraintName, sqlState } from '../db/sqlstate.js';
import { conflict, notFound, validationFailed } from '../http/errors.js';
import type { WriteAnswer } from '../http/idempotency.js';
import { viewerOf, type Actor } from '../appointments/actor.js';
import { findAppointment } from '../appointments/queries.js';
import { bookAppointment } from '../appointments/service.js';
import type { BookWaitlistOfferInput, CreateWaitlistEntryInput } from '../../src/lib/shared/waitlist-schemas.js';
import { closeEntry, doctorMatches, findEntry, insertEntry, lockEntry } from './queries.js';

const FK_FIELDS: Record<string, string> = {
  waitlist_entries_patient_id_fkey: 'patient_id',
  waitlist_entries_doctor_id_fkey: 'doctor_id',
  waitlist_entries_specialization_id_fkey: 'specialization_id',
};

export async function addEntry(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  input: CreateWaitlistEntryInput,
  timeZone: string,
): Promise<WriteAnswer> {
  try {
    await insertEntry(tx, {
      id: input.id,
      patient_id: input.patient_id,
      doctor_id: input.doctor_id ?? null,
      specialization_id: input.specialization_id ?? null,
      earliest_date: input.earliest_date,
      latest_date: input.latest_date,
      time_of_day: input.time_of_day,
      urgency: input.urgency,
      duration_minutes: input.duration_minutes,
      note: input.note ?? null,
      time_zone: timeZone,
      created_by: actor.id,
    });
  } catch (err) {
    const field = FK_FIELDS[constraintName(err) ?? ''];
    if (sqlState(err) === SQLSTATE.foreignKeyViolation && field) {
      throw validationFailed([{ path: field, message: 'no such row' }]);
    }
    if (sqlState(err) === SQLSTATE.uniqueViolation) throw conflict('idempotency_mismatch', 'This id is already taken.');
    throw err;
  }
  return {
    status: 201,
    body: { entry: await findEntry(tx, input.id), txid },
    audit: {
      action: 'waitlist.add',
      entity: 'waitlist_entry',
      entityId: input.id,
      details: { patient_id: input.patient_id, doctor_id: input.doctor_id ?? null, urgency: input.urgency },
    },
  };
}

async function lockWaiting(tx: PoolClient, id: string) {
  const entry = await lockEntry(tx, id);
  if (!entry) throw notFound('Waitlist entry');
  if (entry.status !== 'waiting') {
    throw conflict('waitlist_closed', `This waitlist entry is already ${entry.status}.`, { status: entry.status });
  }
  return entry;
}

/** One tap: book the slot for the entry's patient (all booking checks) and close the entry. */
export async function bookOffer(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  entryId: string,
  input: BookWaitlistOfferInput,
  timeZone: string,
): Promise<WriteAnswer> {
  const entry = await lockWaiting(tx, entryId);
  if (!(await doctorMatches(tx, entry, input.doctor_id))) {
    throw validationFailed([{ path: 'doctor_id', message: 'not a doctor this entry waits for' }]);
  }
  await bookAppointment(
    tx,
    txid,
    actor,
    {
      id: input.appointment_id,
      patient_id: entry.patient_id,
      doctor_id: input.doctor_id,
      starts_at: input.starts_at,
      duration_minutes: entry.duration_minutes,
      urgency: entry.urgency,
      reason: entry.note,
    },
    timeZone,
  );
  await closeEntry(tx, entryId, 'booked', input.appointment_id);
  return {
    status: 201,
    body: {
      appointment: await findAppointment(tx, viewerOf(actor), input.appointment_id),
      entry: await findEntry(tx, entryId),
      txid,
    },
    audit: {
      action: 'waitlist.book',
      entity: 'waitlist_entry',
      entityId: entryId,
      details: { appointment_id: input.appointment_id, doctor_id: input.doctor_id, starts_at: input.starts_at },
    },
  };
}

export async function removeEntry(
  tx: PoolClient,
  txid: number,
  entryId: string,
  reason: string | null,
): Promise<WriteAnswer> {
  await lockWaiting(tx, entryId);
  await closeEntry(tx, entryId, 'removed', null);
  return {
    status: 200,
    body: { entry: await findEntry(tx, entryId), txid },
    audit: { action: 'waitlist.remove', entity: 'waitlist_entry', entityId: entryId, details: { reason } },
  };
}
