// Free slots of a doctor on a day, computed locally: working hours minus the ranges held by
// active appointments (with their buffers). The loop is the shared one the server runs
// (src/lib/shared/slots.ts); the busy ranges come from local_doctor_busy, the device's one
// overlap definition (local migration 5). One SQL query reads both inputs, so a screen can
// watch it as a live query: a booking that sync (or this device) writes re-runs it and the
// slot disappears from every open form. The server stays the authority.
import {
  freeSlotsIn as sharedFreeSlotsIn,
  NO_BUFFERS,
  workingBlocks,
  type Buffers,
  type Interval,
} from '../../shared/slots';
import { clinicDayRange, isoWeekday } from '../../shared/time';
import { ACTIVE_STATUSES } from '../schema/tables';
import type { Queryable, SqlQuery } from './queryable';

export interface Slot {
  starts_at: string;
  ends_at: string;
}

export type { Interval };

/** Candidate starts every `stepMinutes` in each block that overlap no busy interval (the shared loop). */
export function freeSlotsIn(
  blocks: Interval[],
  busy: Interval[],
  durationMinutes: number,
  stepMinutes = 15,
): Interval[] {
  return sharedFreeSlotsIn(blocks, busy, { durationMinutes, stepMinutes });
}

/** What a day's free slots are computed from: the doctor's hours blocks and busy ranges. */
export interface SlotInputRow {
  kind: 'hours' | 'busy';
  start_time: string | null;
  end_time: string | null;
  start_ms: number | null;
  end_ms: number | null;
}

export interface SlotRequest {
  doctorId: string;
  /** Clinic-time date 'YYYY-MM-DD'. */
  date: string;
  durationMinutes: number;
  timeZone: string;
  /** An appointment whose own time counts as free (the one being rescheduled). */
  excludeId?: string | null;
  stepMinutes?: number;
  /** The new appointment's buffers (its type's). */
  buffers?: Buffers;
  /** No slot before this instant (epoch ms): past slots are not offered. */
  notBefore?: number;
}

const HOUR = 3_600_000;

/**
 * The hours blocks of the doctor's weekday and the ranges held around the clinic day, in one
 * statement (each `$n` used once, in order: live queries inline them by position). The busy
 * part is local_doctor_busy (local migration 5) written out: a live query watches the tables
 * its statement names, and a function call would hide `appointments` from it.
 */
export function slotInputsQuery(r: SlotRequest): SqlQuery {
  const day = clinicDayRange(r.date, r.timeZone);
  // Busy ranges anywhere near the day: a buffer can reach over its edge.
  const from = new Date(day.from.getTime() - 12 * HOUR).toISOString();
  const to = new Date(day.to.getTime() + 12 * HOUR).toISOString();
  return {
    sql: `SELECT 'hours' AS kind, start_time::text AS start_time, end_time::text AS end_time,
                 NULL::float8 AS start_ms, NULL::float8 AS end_ms
            FROM doctor_hours WHERE doctor_id = $1 AND weekday = $2
          UNION ALL
          SELECT 'busy', NULL, NULL, extract(epoch FROM b.held_from)::float8 * 1000, extract(epoch FROM b.held_to)::float8 * 1000
            FROM (SELECT a.starts_at - make_interval(mins => coalesce(a.buffer_before_minutes, 0)) AS held_from,
                         a.ends_at + make_interval(mins => coalesce(a.buffer_after_minutes, 0)) AS held_to
                    FROM appointments a
                   WHERE a.doctor_id = $3 AND a.status = ANY ($4::text[]) AND a.id IS DISTINCT FROM $5::uuid) b
           WHERE b.held_from < $6::timestamptz AND b.held_to > $7::timestamptz`,
    params: [r.doctorId, isoWeekday(r.date), r.doctorId, [...ACTIVE_STATUSES], r.excludeId ?? null, to, from],
  };
}

/** Free slots from the rows of `slotInputsQuery`. */
export function slotsFromInputs(rows: SlotInputRow[], r: SlotRequest): Slot[] {
  const weekday = isoWeekday(r.date);
  const hours = rows
    .filter((x) => x.kind === 'hours')
    .map((h) => ({ weekday, start_time: h.start_time!, end_time: h.end_time! }));
  const blocks = workingBlocks(r.date, hours, r.timeZone);
  if (!blocks.length) return [];
  const busy = rows.filter((x) => x.kind === 'busy').map((b) => ({ start: Number(b.start_ms), end: Number(b.end_ms) }));
  return sharedFreeSlotsIn(blocks, busy, {
    durationMinutes: r.durationMinutes,
    buffers: r.buffers ?? NO_BUFFERS,
    stepMinutes: r.stepMinutes,
    notBefore: r.notBefore,
  }).map((s) => ({
    starts_at: new Date(s.start).toISOString(),
    ends_at: new Date(s.end).toISOString(),
  }));
}

export interface FreeSlotOptions {
  stepMinutes?: number;
  /** the new appointment's buffers (its type's) */
  buffers?: Buffers;
  /** no slot before this instant (epoch ms): past slots are not offered */
  notBefore?: number;
  /** an appointment whose own time counts as free (the one being rescheduled) */
  excludeId?: string | null;
}

/** Free slots for one doctor on a clinic-time date ('YYYY-MM-DD'). */
export async function freeSlots(
  db: Queryable,
  doctorId: string,
  date: string,
  durationMinutes: number,
  timeZone: string,
  options: number | FreeSlotOptions = {},
): Promise<Slot[]> {
  const opts = typeof options === 'number' ? { stepMinutes: options } : options;
  const request: SlotRequest = { doctorId, date, durationMinutes, timeZone, ...opts };
  const q = slotInputsQuery(request);
  return slotsFromInputs((await db.query<SlotInputRow>(q.sql, q.params)).rows, request);
}
