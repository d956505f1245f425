// Working hours and free slots, in clinic time: the ONE definition of the free-slot loop and
// of "two intervals overlap", used by the server (booking check, 409 suggestions, the
// availability endpoint) and by the device (offline free slots). Pure functions over epoch
// milliseconds; the database sides have one overlap definition each (server: the
// appointment_occupied() SQL function and OCCUPIED_OVERLAP_SQL; device: local_conflicts()).
//
// Buffers: an appointment occupies its doctor from `buffer_before` minutes before its start
// to `buffer_after` minutes after its end (preparation, cleaning). Occupied ranges of one
// doctor may not overlap. Only the appointment itself has to lie inside working hours: a
// buffer may reach outside them.
import { addDays, clinicDate, clinicDayStart, isoWeekday, zonedToUtc } from './time';

export interface HoursBlock {
  weekday: number;
  start_time: string;
  end_time: string;
}

/** [start, end) in epoch milliseconds. */
export interface Interval {
  start: number;
  end: number;
}

/** Free slots start on this grid, counted from the start of each working-hours block. */
export const SLOT_STEP_MINUTES = 15;
const MINUTE = 60_000;

/** The overlap rule for half-open intervals: touching ends do not overlap. */
export function overlaps(a: Interval, b: Interval): boolean {
  return a.start < b.end && a.end > b.start;
}

export interface Buffers {
  before: number;
  after: number;
}
export const NO_BUFFERS: Buffers = { before: 0, after: 0 };

/** The range an appointment holds its doctor for: itself plus its buffers. */
export function occupied(start: number, end: number, buffers: Buffers = NO_BUFFERS): Interval {
  return { start: start - buffers.before * MINUTE, end: end + buffers.after * MINUTE };
}

/**
 * The working-hours blocks of one clinic date as UTC instants. A block edge in a
 * spring-forward gap moves forward (02:00–04:00 on New York's 2027-03-14 is 03:00–04:00 EDT);
 * an ambiguous one is its earlier occurrence (see time.ts).
 */
export function workingBlocks(date: string, hours: HoursBlock[], timeZone: string): Interval[] {
  const weekday = isoWeekday(date);
  return hours
    .filter((h) => h.weekday === weekday)
    .map((h) => ({
      start: zonedToUtc(date, h.start_time, timeZone).getTime(),
      end: zonedToUtc(date, h.end_time, timeZone).getTime(),
    }))
    .filter((b) => b.start < b.end)
    .sort((a, b) => a.start - b.start);
}

/** True when [start, end) lies inside one working-hours block of its clinic date. */
export function withinWorkingHours(start: number, end: number, hours: HoursBlock[], timeZone: string): boolean {
  return workingBlocks(clinicDate(start, timeZone), hours, timeZone).some((b) => b.start <= start && end <= b.end);
}

export interface SlotSearch {
  durationMinutes: number;
  /** The new appointment's own buffers (its type's). */
  buffers?: Buffers;
  stepMinutes?: number;
  /** No slot starts before this instant (epoch ms). */
  notBefore?: number;
}

/**
 * The free-slot loop: candidate starts every `stepMinutes` from each block's start; a slot is
 * free when [start, start + duration) fits in its block and its occupied range (with the
 * buffers) overlaps no busy range. `busy` holds occupied ranges (already with their buffers).
 */
export function freeSlotsIn(blocks: Interval[], busy: Interval[], search: SlotSearch): Interval[] {
  const durationMinutes = search.durationMinutes;
  const buffers = search.buffers ?? NO_BUFFERS;
  const stepMinutes = search.stepMinutes ?? SLOT_STEP_MINUTES;
  const notBefore = search.notBefore ?? -Infinity;
  const slots: Interval[] = [];
  for (const block of [...blocks].sort((a, b) => a.start - b.start)) {
    const near = busy.filter((b) => overlaps(b, occupied(block.start, block.end, buffers)));
    for (let start = block.start; start + durationMinutes * MINUTE <= block.end; start += stepMinutes * MINUTE) {
      const end = start + durationMinutes * MINUTE;
      if (start < notBefore) continue;
      const held = occupied(start, end, buffers);
      if (!near.some((b) => overlaps(b, held))) slots.push({ start, end });
    }
  }
  return slots.sort((a, b) => a.start - b.start);
}

/** Free slots on one clinic date. */
export function freeSlotsOn(
  date: string,
  hours: HoursBlock[],
  busy: Interval[],
  timeZone: string,
  search: SlotSearch,
): Interval[] {
  return freeSlotsIn(workingBlocks(date, hours, timeZone), busy, search);
}

/** How many clinic days either side of the requested one are searched for suggestions. */
export const SUGGESTION_SEARCH_DAYS = 14;

/**
 * Up to `count` free slots nearest to the requested start (before or after it), in time
 * order. Ties go to the later slot. `search.notBefore` keeps past slots out.
 */
export function suggestSlots(
  requestedStart: number,
  hours: HoursBlock[],
  busy: Interval[],
  timeZone: string,
  search: SlotSearch,
  count = 3,
): Interval[] {
  const day = clinicDate(requestedStart, timeZone);
  const candidates: Interval[] = [];
  for (let d = -SUGGESTION_SEARCH_DAYS; d <= SUGGESTION_SEARCH_DAYS; d++) {
    candidates.push(...freeSlotsOn(addDays(day, d), hours, busy, timeZone, search));
  }
  const distance = (s: Interval) => Math.abs(s.start - requestedStart);
  return candidates
    .sort((a, b) => distance(a) - distance(b) || b.start - a.start)
    .slice(0, count)
    .sort((a, b) => a.start - b.start);
}

/** The UTC window suggestSlots looks at, to load the doctor's busy ranges once. */
export function suggestionWindow(requestedStart: number, timeZone: string): { from: Date; to: Date } {
  const day = clinicDate(requestedStart, timeZone);
  return {
    from: clinicDayStart(addDays(day, -SUGGESTION_SEARCH_DAYS), timeZone),
    to: clinicDayStart(addDays(day, SUGGESTION_SEARCH_DAYS + 1), timeZone),
  };
}
