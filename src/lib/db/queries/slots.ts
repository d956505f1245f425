// Free slots of a doctor on a day, computed locally: working hours minus the intervals held
// by active appointments. The booking screens use it offline; the server stays the authority.
import { isoWeekday, zonedToUtc } from '../../shared/time';
import { ACTIVE_STATUSES } from '../schema/tables';
import { workingHours } from './doctors';
import type { Queryable } from './queryable';

export interface Slot {
  starts_at: string;
  ends_at: string;
}

export interface Interval {
  start: number;
  end: number;
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

/** Free slots for one doctor on a clinic-time date ('YYYY-MM-DD'). */
export async function freeSlots(
  db: Queryable,
  doctorId: string,
  date: string,
  durationMinutes: number,
  timeZone: string,
  stepMinutes = 15,
): Promise<Slot[]> {
  const hours = await workingHours(db, isoWeekday(date), [doctorId]);
  if (!hours.length) return [];
  const blocks = hours.map((h) => ({
    start: zonedToUtc(date, h.start_time, timeZone).getTime(),
    end: zonedToUtc(date, h.end_time, timeZone).getTime(),
  }));
  const dayStart = Math.min(...blocks.map((b) => b.start));
  const dayEnd = Math.max(...blocks.map((b) => b.end));
  const { rows } = await db.query<{ starts_at: Date; ends_at: Date }>(
    `SELECT starts_at, ends_at FROM appointments
      WHERE doctor_id = $1 AND status = ANY($2::text[]) AND starts_at < $3 AND ends_at > $4`,
    [doctorId, [...ACTIVE_STATUSES], new Date(dayEnd).toISOString(), new Date(dayStart).toISOString()],
  );
  const busy = rows.map((r) => ({ start: new Date(r.starts_at).getTime(), end: new Date(r.ends_at).getTime() }));
  return freeSlotsIn(blocks, busy, durationMinutes, stepMinutes).map((s) => ({
    starts_at: new Date(s.start).toISOString(),
    ends_at: new Date(s.end).toISOString(),
  }));
}
