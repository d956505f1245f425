// Free slots of a doctor on a day, computed locally: working hours minus the intervals held
// by active appointments. The booking screens use it offline; the server stays the authority.
// One SQL query reads both inputs, so a screen can watch it as a live query: a booking that
// sync (or this device) writes re-runs it and the slot disappears from every open form.
import { addDays, isoWeekday, zonedToUtc } from '../../shared/time';
import { ACTIVE_STATUSES } from '../schema/tables';
import type { Queryable, SqlQuery } from './queryable';

export interface Slot {
  starts_at: string;
  ends_at: string;
}

export interface Interval {
  start: number;
  end: number;
}

/** What a day's free slots are computed from: the doctor's hours blocks and busy intervals. */
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
}

const MINUTE = 60_000;

/**
 * Pure part: candidate starts every `stepMinutes` inside each block; a slot is free when
 * [start, start + duration) fits in its block and overlaps no busy interval.
 */
export function freeSlotsIn(
  blocks: Interval[],
  busy: Interval[],
  durationMinutes: number,
  stepMinutes = 15,
): Interval[] {
  const sortedBusy = [...busy].sort((a, b) => a.start - b.start);
  const slots: Interval[] = [];
  for (const block of [...blocks].sort((a, b) => a.start - b.start)) {
    for (let start = block.start; start + durationMinutes * MINUTE <= block.end; start += stepMinutes * MINUTE) {
      const end = start + durationMinutes * MINUTE;
      if (!sortedBusy.some((b) => b.start < end && b.end > start)) slots.push({ start, end });
    }
  }
  return slots;
}

/**
 * The hours blocks of the doctor's weekday and the active appointments overlapping the
 * clinic day, in one statement (each `$n` used once: live queries inline them by position).
 */
export function slotInputsQuery(r: SlotRequest): SqlQuery {
  const dayStart = zonedToUtc(r.date, '00:00', r.timeZone).toISOString();
  const dayEnd = zonedToUtc(addDays(r.date, 1), '00:00', r.timeZone).toISOString();
  return {
    sql: `SELECT 'hours' AS kind, start_time::text AS start_time, end_time::text AS end_time,
                 NULL::float8 AS start_ms, NULL::float8 AS end_ms
            FROM doctor_hours WHERE doctor_id = $1 AND weekday = $2
          UNION ALL
          SELECT 'busy', NULL, NULL, extract(epoch FROM starts_at)::float8 * 1000, extract(epoch FROM ends_at)::float8 * 1000
            FROM appointments
           WHERE doctor_id = $3 AND status = ANY($4::text[]) AND starts_at < $5 AND ends_at > $6
             AND id IS DISTINCT FROM $7::uuid`,
    params: [r.doctorId, isoWeekday(r.date), r.doctorId, [...ACTIVE_STATUSES], dayEnd, dayStart, r.excludeId ?? null],
  };
}

/** Free slots from the rows of `slotInputsQuery`. */
export function slotsFromInputs(rows: SlotInputRow[], r: SlotRequest): Slot[] {
  const blocks = rows
    .filter((x) => x.kind === 'hours')
    .map((h) => ({
      start: zonedToUtc(r.date, h.start_time!, r.timeZone).getTime(),
      end: zonedToUtc(r.date, h.end_time!, r.timeZone).getTime(),
    }));
  if (!blocks.length) return [];
  const busy = rows.filter((x) => x.kind === 'busy').map((b) => ({ start: Number(b.start_ms), end: Number(b.end_ms) }));
  return freeSlotsIn(blocks, busy, r.durationMinutes, r.stepMinutes ?? 15).map((s) => ({
    starts_at: new Date(s.start).toISOString(),
    ends_at: new Date(s.end).toISOString(),
  }));
}

/** Free slots for one doctor on a clinic-time date ('YYYY-MM-DD'). */
export async function freeSlots(
  db: Queryable,
  doctorId: string,
  date: string,
  durationMinutes: number,
  timeZone: string,
  stepMinutes = 15,
  excludeId: string | null = null,
): Promise<Slot[]> {
  const request = { doctorId, date, durationMinutes, timeZone, stepMinutes, excludeId };
  const q = slotInputsQuery(request);
  return slotsFromInputs((await db.query<SlotInputRow>(q.sql, q.params)).rows, request);
}
