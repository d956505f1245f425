// Free slots of a doctor on a day, computed locally: working hours minus the ranges held by
// active appointments (with their buffers). The loop is the shared one the server runs
// (src/lib/shared/slots.ts); the busy ranges come from local_doctor_busy, the device's one
// overlap definition (local migration 5). The booking screens use it offline; the server stays
// the authority.
import {
  freeSlotsIn as sharedFreeSlotsIn,
  NO_BUFFERS,
  workingBlocks,
  type Buffers,
  type Interval,
} from '../../shared/slots';
import { clinicDayRange, isoWeekday } from '../../shared/time';
import { ACTIVE_STATUSES } from '../schema/tables';
import { workingHours } from './doctors';
import type { Queryable } from './queryable';

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

export interface FreeSlotOptions {
  stepMinutes?: number;
  /** the new appointment's buffers (its type's) */
  buffers?: Buffers;
  /** no slot before this instant (epoch ms): past slots are not offered */
  notBefore?: number;
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
  const hours = await workingHours(db, isoWeekday(date), [doctorId]);
  if (!hours.length) return [];
  const blocks = workingBlocks(date, hours, timeZone);
  if (!blocks.length) return [];
  const buffers = opts.buffers ?? NO_BUFFERS;
  // Busy ranges anywhere near the day (a buffer can reach over its edge).
  const day = clinicDayRange(date, timeZone);
  const { rows } = await db.query<{ held_from: Date; held_to: Date }>(
    `SELECT held_from, held_to FROM local_doctor_busy($1, $2, $3, NULL, $4)`,
    [
      doctorId,
      new Date(day.from.getTime() - 12 * 3_600_000),
      new Date(day.to.getTime() + 12 * 3_600_000),
      [...ACTIVE_STATUSES],
    ],
  );
  const busy = rows.map((r) => ({ start: new Date(r.held_from).getTime(), end: new Date(r.held_to).getTime() }));
  return sharedFreeSlotsIn(blocks, busy, {
    durationMinutes,
    buffers,
    stepMinutes: opts.stepMinutes,
    notBefore: opts.notBefore,
  }).map((s) => ({
    starts_at: new Date(s.start).toISOString(),
    ends_at: new Date(s.end).toISOString(),
  }));
}
