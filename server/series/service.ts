// Recurring series over the single-booking path: each occurrence is booked, moved, edited or
// cancelled by the same functions as a single appointment (server/appointments/), so every
// rule they check applies to every occurrence. All occurrences of one request share ONE
// transaction; each runs under a savepoint, so a refused occurrence undoes only itself and
// the request decides afterwards: all-or-none throws (everything rolls back, 409 with the
// list), "book the free ones" commits the rest.
import type { Pool, PoolClient } from '../db/pool.js';
import { HttpError, notFound, unprocessable } from '../http/errors.js';
import type { WriteAnswer } from '../http/idempotency.js';
import { viewerOf, type Actor } from '../appointments/actor.js';
import { explainConflict, PatientBusyError, SlotTakenError } from '../appointments/errors.js';
import { findAppointment, type AppointmentRow } from '../appointments/queries.js';
import { bookAppointment, rescheduleAppointment } from '../appointments/service.js';
import { changeStatus, updateFields } from '../appointments/changes.js';
import {
  RESCHEDULABLE_STATUSES,
  canTransition,
  type AppointmentStatus,
} from '../../src/lib/shared/appointment-schemas.js';
import {
  clinicDateTime,
  expandSeries,
  occurrenceId,
  uuidV5,
  type CancelSeriesInput,
  type CreateSeriesInput,
  type EditSeriesInput,
  type OccurrenceResult,
} from '../../src/lib/shared/series.js';
import { zonedToUtc } from '../../src/lib/shared/time.js';
import { findSeries, insertSeries, lockSeriesOccurrences, type SeriesRow } from './queries.js';

const MINUTE = 60_000;

/** Some occurrence was refused and the request is all-or-none: nothing is written. */
export class SeriesRefusedError extends Error {
  constructor(readonly occurrences: OccurrenceResult[]) {
    super('series refused');
  }
}

export const seriesConflict = (occurrences: OccurrenceResult[]) =>
  new HttpError(409, 'series_conflict', 'Not every occurrence of the series can be changed as asked.', {
    occurrences,
  });

type Outcome =
  { ok: true; version?: number } | { ok: false; error: { code: string; message: string }; suggestions?: Slot[] };
interface Slot {
  starts_at: string;
  ends_at: string;
}

/**
 * Runs one occurrence's write under a savepoint. A refusal of that occurrence (a taken slot,
 * working hours, a busy patient, a state-machine or scheduling rule: any 409/422 but bad
 * input) rolls back only it and is reported; anything else fails the whole request.
 */
async function attempt(
  tx: PoolClient,
  timeZone: string,
  write: () => Promise<WriteAnswer | undefined>,
): Promise<Outcome> {
  await tx.query('SAVEPOINT series_occurrence');
  try {
    const answer = await write();
    await tx.query('RELEASE SAVEPOINT series_occurrence');
    // The row's version as written: a device confirms its change when sync brings it.
    const version = (answer?.body as { appointment?: { version?: number } } | undefined)?.appointment?.version;
    return version === undefined ? { ok: true } : { ok: true, version };
  } catch (err) {
    await tx.query('ROLLBACK TO SAVEPOINT series_occurrence');
    if (err instanceof SlotTakenError || err instanceof PatientBusyError) {
      // The suggestions are read in this transaction: they avoid the occurrences it already
      // booked. Holding the doctor's lock meanwhile is the price of one atomic series.
      const explained = (await explainConflict(tx as unknown as Pool, timeZone, err)) as HttpError;
      const suggestions = (explained.details?.suggestions as Slot[] | undefined) ?? undefined;
      return { ok: false, error: { code: explained.code, message: explained.message }, suggestions };
    }
    if (err instanceof HttpError && (err.status === 409 || err.status === 422) && err.code !== 'validation_failed') {
      return { ok: false, error: { code: err.code, message: err.message } };
    }
    throw err;
  }
}

function result(id: string, startsAt: Date, minutes: number, outcome: Outcome, done: 'booked' | 'changed') {
  const r: OccurrenceResult = {
    id,
    starts_at: startsAt.toISOString(),
    ends_at: new Date(startsAt.getTime() + minutes * MINUTE).toISOString(),
    outcome: outcome.ok ? done : 'refused',
  };
  if (outcome.ok && outcome.version !== undefined) r.version = outcome.version;
  if (!outcome.ok) {
    r.error = outcome.error;
    if (outcome.suggestions) r.suggestions = outcome.suggestions;
  }
  return r;
}

/** All-or-none with a refusal, or nothing written at all: undo everything, answer the list. */
function settle(occurrences: OccurrenceResult[], allOrNone: boolean): void {
  const refused = occurrences.some((o) => o.outcome === 'refused');
  const written = occurrences.some((o) => o.outcome !== 'refused');
  if ((allOrNone && refused) || !written) {
    throw new SeriesRefusedError(
      occurrences.map((o) => (o.outcome === 'refused' ? o : { ...o, outcome: 'free' as const })),
    );
  }
}

export function seriesJson(s: SeriesRow) {
  return {
    id: s.id,
    patient_id: s.patient_id,
    doctor_id: s.doctor_id,
    rrule: s.rrule,
    first_starts_at: s.first_starts_at.toISOString(),
    duration_minutes: s.duration_minutes,
    created_at: s.created_at.toISOString(),
  };
}

export async function bookSeries(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  input: CreateSeriesInput,
  timeZone: string,
): Promise<WriteAnswer> {
  const starts = expandSeries(input.rrule, input.starts_at, timeZone);
  if (starts.length === 0) {
    throw unprocessable('validation_failed', 'Invalid input: rrule.', {
      issues: [{ path: 'rrule', message: 'the rule gives no occurrence' }],
    });
  }
  const series = await insertSeries(tx, {
    id: input.id,
    patient_id: input.patient_id,
    doctor_id: input.doctor_id,
    rrule: input.rrule,
    first_starts_at: new Date(starts[0]!),
    duration_minutes: input.duration_minutes,
    created_by: actor.id,
  });
  const occurrences: OccurrenceResult[] = [];
  for (const startsAt of starts) {
    const id = occurrenceId(input.id, startsAt);
    const outcome = await attempt(tx, timeZone, () =>
      bookAppointment(
        tx,
        txid,
        actor,
        {
          id,
          patient_id: input.patient_id,
          doctor_id: input.doctor_id,
          starts_at: startsAt,
          duration_minutes: input.duration_minutes,
          urgency: input.urgency,
          reason: input.reason ?? null,
        },
        timeZone,
        { seriesId: input.id },
      ),
    );
    occurrences.push(result(id, new Date(startsAt), input.duration_minutes, outcome, 'booked'));
  }
  settle(occurrences, input.mode === 'all_or_none');
  return {
    status: 201,
    body: { series: seriesJson(series), occurrences, txid },
    audit: {
      action: 'series.book',
      entity: 'appointment_series',
      entityId: input.id,
      details: {
        doctor_id: input.doctor_id,
        patient_id: input.patient_id,
        rrule: input.rrule,
        mode: input.mode,
        booked: occurrences.filter((o) => o.outcome === 'booked').map((o) => o.id),
        refused: occurrences.filter((o) => o.outcome === 'refused').map((o) => o.starts_at),
      },
    },
  };
}

/** The series (404 if absent or, for a clinician, another doctor's) and its occurrences in scope, locked. */
async function scopedOccurrences(
  tx: PoolClient,
  actor: Actor,
  seriesId: string,
  input: { scope: 'this' | 'following' | 'all'; appointment_id?: string },
): Promise<AppointmentRow[]> {
  const series = await findSeries(tx, seriesId);
  if (!series || (actor.doctorId && series.doctor_id !== actor.doctorId)) throw notFound('Series');
  const rows = await lockSeriesOccurrences(tx, seriesId);
  if (input.scope === 'all') return rows.filter((r) => r.starts_at.getTime() >= Date.now());
  const anchor = rows.find((r) => r.id === input.appointment_id);
  if (!anchor) {
    throw unprocessable('validation_failed', 'Invalid input: appointment_id.', {
      issues: [{ path: 'appointment_id', message: 'not an occurrence of this series' }],
    });
  }
  if (input.scope === 'this') return [anchor];
  return rows.filter((r) => r.starts_at.getTime() >= anchor.starts_at.getTime());
}

const changeAnswer = (seriesId: string, occurrences: OccurrenceResult[], txid: number) => ({
  series_id: seriesId,
  occurrences,
  txid,
});

export async function cancelSeries(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  seriesId: string,
  input: CancelSeriesInput,
): Promise<WriteAnswer> {
  const rows = (await scopedOccurrences(tx, actor, seriesId, input)).filter(
    (r) => input.scope === 'this' || canTransition(r.status, 'cancelled'),
  );
  const occurrences: OccurrenceResult[] = [];
  for (const row of rows) {
    const outcome = await attempt(tx, '', () =>
      changeStatus(tx, txid, actor, row.id, 'cancelled', { reason: input.reason ?? null }),
    );
    occurrences.push(result(row.id, row.starts_at, row.duration_minutes, outcome, 'changed'));
  }
  settle(occurrences, true);
  return {
    status: 200,
    body: changeAnswer(seriesId, occurrences, txid),
    audit: {
      action: 'series.cancel',
      entity: 'appointment_series',
      entityId: seriesId,
      details: { scope: input.scope, appointment_id: input.appointment_id ?? null, cancelled: rows.map((r) => r.id) },
    },
  };
}

/**
 * Field changes (reason, urgency) apply to every occurrence in scope that is not final; a new
 * time or length moves each scheduled/confirmed one on its own clinic day through the
 * reschedule path (a new appointment in the same series; the old one becomes `rescheduled`).
 * All or none: one refused occurrence refuses the edit.
 */
export async function editSeries(
  tx: PoolClient,
  txid: number,
  actor: Actor,
  seriesId: string,
  input: EditSeriesInput,
  timeZone: string,
  key: string,
): Promise<WriteAnswer> {
  const finalStatuses: AppointmentStatus[] = ['completed', 'cancelled', 'no_show', 'rescheduled'];
  const moves = input.start_time !== undefined || input.duration_minutes !== undefined;
  const rows = (await scopedOccurrences(tx, actor, seriesId, input)).filter(
    (r) =>
      input.scope === 'this' || (moves ? RESCHEDULABLE_STATUSES.includes(r.status) : !finalStatuses.includes(r.status)),
  );
  const occurrences: OccurrenceResult[] = [];
  for (const row of rows) {
    let id = row.id;
    let startsAt = row.starts_at;
    const minutes = input.duration_minutes ?? row.duration_minutes;
    const outcome = await attempt(tx, timeZone, async () => {
      let answer: WriteAnswer | undefined;
      if (input.reason !== undefined || input.urgency !== undefined) {
        const fields: { version: number; reason?: string | null; urgency?: typeof row.urgency } = {
          version: row.version,
        };
        if (input.reason !== undefined) fields.reason = input.reason;
        if (input.urgency !== undefined) fields.urgency = input.urgency;
        answer = await updateFields(tx, txid, actor, row.id, fields, timeZone);
      }
      if (moves) {
        const { date, time } = clinicDateTime(row.starts_at, timeZone);
        startsAt = zonedToUtc(date, input.start_time ?? time, timeZone);
        // The new row's id comes from the request's key: a replay names the same rows.
        id = uuidV5(key, row.id);
        answer = await rescheduleAppointment(
          tx,
          txid,
          actor,
          row.id,
          { new_id: id, starts_at: startsAt.toISOString(), duration_minutes: minutes },
          timeZone,
        );
      }
      return answer;
    });
    occurrences.push(result(outcome.ok ? id : row.id, startsAt, minutes, outcome, 'changed'));
  }
  settle(occurrences, true);
  return {
    status: 200,
    body: changeAnswer(seriesId, occurrences, txid),
    audit: {
      action: 'series.edit',
      entity: 'appointment_series',
      entityId: seriesId,
      details: {
        scope: input.scope,
        appointment_id: input.appointment_id ?? null,
        fields: Object.keys(input).filter((k) => !['scope', 'appointment_id'].includes(k)),
        changed: occurrences.map((o) => o.id),
      },
    },
  };
}

/** The series and its live occurrences as the viewer may see them (GET /api/series/:id). */
export async function readSeries(tx: PoolClient, actor: Actor, seriesId: string) {
  const series = await findSeries(tx, seriesId);
  if (!series || (actor.doctorId && series.doctor_id !== actor.doctorId)) throw notFound('Series');
  const rows = await lockSeriesOccurrences(tx, seriesId, { lock: false });
  const appointments = [];
  for (const r of rows) appointments.push(await findAppointment(tx, viewerOf(actor), r.id));
  return { series: seriesJson(series), appointments: appointments.filter(Boolean) };
}
