// Working hours and free slots, in clinic time. Pure functions over plain data, so the same
// rules serve the booking check, the 409 suggestions and the availability endpoint.
import { addDays, clinicDate, isoWeekday, zonedToUtc } from '../../src/lib/shared/time.js';

export interface HoursBlock {
  weekday: number;
  start_time: string;
  end_time: string;
}
export interface Busy {
  starts_at: Date;
  ends_at: Date;
}
export interface Slot {
  starts_at: Date;
  ends_at: Date;
}

/** Free slots start on this grid, counted from the start of each working-hours block. */
export const SLOT_STEP_MINUTES = 15;
const MINUTE = 60_000;

/** The working-hours blocks of one clinic date as UTC instants. */
export function blocksOn(date: string, hours: HoursBlock[], timeZone: string): Slot[] {
  const weekday = isoWeekday(date);
  return hours
    .filter((h) => h.weekday === weekday)
    .map((h) => ({
      starts_at: zonedToUtc(date, h.start_time, timeZone),
      ends_at: zonedToUtc(date, h.end_time, timeZone),
    }));
}

/** True when [startsAt, endsAt) lies inside one working-hours block of its clinic date. */
export function withinWorkingHours(startsAt: Date, endsAt: Date, hours: HoursBlock[], timeZone: string): boolean {
  return blocksOn(clinicDate(startsAt, timeZone), hours, timeZone).some(
    (b) => b.starts_at <= startsAt && endsAt <= b.ends_at,
  );
}

const overlaps = (a: Busy, startMs: number, endMs: number) =>
  a.starts_at.getTime() < endMs && a.ends_at.getTime() > startMs;

/** Free slots of `durationMinutes` on one clinic date, on the grid, starting no earlier than notBefore. */
export function freeSlotsOn(
  date: string,
  durationMinutes: number,
  hours: HoursBlock[],
  busy: Busy[],
  timeZone: string,
  notBefore = new Date(0),
): Slot[] {
  const slots: Slot[] = [];
  for (const block of blocksOn(date, hours, timeZone)) {
    const blockEnd = block.ends_at.getTime();
    const inBlock = busy.filter((b) => overlaps(b, block.starts_at.getTime(), blockEnd));
    for (
      let start = block.starts_at.getTime();
      start + durationMinutes * MINUTE <= blockEnd;
      start += SLOT_STEP_MINUTES * MINUTE
    ) {
      const end = start + durationMinutes * MINUTE;
      if (start < notBefore.getTime() || inBlock.some((b) => overlaps(b, start, end))) continue;
      slots.push({ starts_at: new Date(start), ends_at: new Date(end) });
    }
  }
  return slots.sort((a, b) => a.starts_at.getTime() - b.starts_at.getTime());
}

/** How many clinic days either side of the requested one are searched for suggestions. */
export const SUGGESTION_SEARCH_DAYS = 14;

/**
 * Up to `count` free slots nearest to the requested start (before or after it), in time
 * order. Slots in the past are never suggested. Ties go to the later slot.
 */
export function suggestSlots(
  requestedStart: Date,
  durationMinutes: number,
  hours: HoursBlock[],
  busy: Busy[],
  timeZone: string,
  now: Date,
  count = 3,
): Slot[] {
  const day = clinicDate(requestedStart, timeZone);
  const candidates: Slot[] = [];
  for (let d = -SUGGESTION_SEARCH_DAYS; d <= SUGGESTION_SEARCH_DAYS; d++) {
    candidates.push(...freeSlotsOn(addDays(day, d), durationMinutes, hours, busy, timeZone, now));
  }
  const distance = (s: Slot) => Math.abs(s.starts_at.getTime() - requestedStart.getTime());
  return candidates
    .sort((a, b) => distance(a) - distance(b) || b.starts_at.getTime() - a.starts_at.getTime())
    .slice(0, count)
    .sort((a, b) => a.starts_at.getTime() - b.starts_at.getTime());
}

/** The UTC window suggestSlots looks at, to load the doctor's busy intervals once. */
export function suggestionWindow(requestedStart: Date, timeZone: string): { from: Date; to: Date } {
  const day = clinicDate(requestedStart, timeZone);
  return {
    from: zonedToUtc(addDays(day, -SUGGESTION_SEARCH_DAYS), '00:00', timeZone),
    to: zonedToUtc(addDays(day, SUGGESTION_SEARCH_DAYS + 1), '00:00', timeZone),
  };
}
