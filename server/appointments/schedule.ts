// Working hours and free slots on the server: Date-based adapters over the shared rules in
// src/lib/shared/slots.ts (the same loop the device runs offline), so the booking check, the
// 409 suggestions and the availability endpoint agree with the device to the minute.
import * as shared from '../../src/lib/shared/slots.js';
import { NO_BUFFERS, type Buffers, type HoursBlock, type Interval } from '../../src/lib/shared/slots.js';

export type { HoursBlock };
export { SLOT_STEP_MINUTES, SUGGESTION_SEARCH_DAYS } from '../../src/lib/shared/slots.js';

/** A busy appointment: its own times and, when it has buffers, the range it holds its doctor for. */
export interface Busy {
  starts_at: Date;
  ends_at: Date;
  held_from?: Date;
  held_to?: Date;
}
export interface Slot {
  starts_at: Date;
  ends_at: Date;
}

const heldRange = (b: Busy): Interval => ({
  start: (b.held_from ?? b.starts_at).getTime(),
  end: (b.held_to ?? b.ends_at).getTime(),
});
const toSlot = (i: Interval): Slot => ({ starts_at: new Date(i.start), ends_at: new Date(i.end) });

/** The working-hours blocks of one clinic date as UTC instants. */
export function blocksOn(date: string, hours: HoursBlock[], timeZone: string): Slot[] {
  return shared.workingBlocks(date, hours, timeZone).map(toSlot);
}

/** True when [startsAt, endsAt) lies inside one working-hours block of its clinic date. */
export function withinWorkingHours(startsAt: Date, endsAt: Date, hours: HoursBlock[], timeZone: string): boolean {
  return shared.withinWorkingHours(startsAt.getTime(), endsAt.getTime(), hours, timeZone);
}

/** Free slots of `durationMinutes` on one clinic date, on the grid, starting no earlier than notBefore. */
export function freeSlotsOn(
  date: string,
  durationMinutes: number,
  hours: HoursBlock[],
  busy: Busy[],
  timeZone: string,
  notBefore = new Date(0),
  buffers: Buffers = NO_BUFFERS,
): Slot[] {
  return shared
    .freeSlotsOn(date, hours, busy.map(heldRange), timeZone, {
      durationMinutes,
      buffers,
      notBefore: notBefore.getTime(),
    })
    .map(toSlot);
}

/**
 * Up to `count` free slots nearest to the requested start (before or after it), in time
 * order. Slots before `now` are never suggested. Ties go to the later slot.
 */
export function suggestSlots(
  requestedStart: Date,
  durationMinutes: number,
  hours: HoursBlock[],
  busy: Busy[],
  timeZone: string,
  now: Date,
  count = 3,
  buffers: Buffers = NO_BUFFERS,
): Slot[] {
  return shared
    .suggestSlots(
      requestedStart.getTime(),
      hours,
      busy.map(heldRange),
      timeZone,
      { durationMinutes, buffers, notBefore: now.getTime() },
      count,
    )
    .map(toSlot);
}

/** The UTC window suggestSlots looks at, to load the doctor's busy intervals once. */
export function suggestionWindow(requestedStart: Date, timeZone: string): { from: Date; to: Date } {
  return shared.suggestionWindow(requestedStart.getTime(), timeZone);
}
