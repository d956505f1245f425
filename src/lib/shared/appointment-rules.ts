// The scheduling rules about time, in one place: the server (the authority) answers a broken
// rule with 422 and the rule's code and message, and the device refuses the same write at once,
// offline too, with the same words. Pure functions: the caller passes "now" (the server's
// clock, or the device's) and the clinic's time zone; days are clinic days (time.ts).
import type { AppointmentStatus } from './appointment-schemas';
import { clinicDate } from './time';

/** A booking or move may start this long ago: the slot that is running now can still be booked. */
export const PAST_GRACE_MINUTES = 5;
/** Default of CHECK_IN_EARLY_MINUTES: check-in opens this long before the start. */
export const DEFAULT_CHECK_IN_EARLY_MINUTES = 60;
/** How long a one-tap step waits on the device before it is sent: the undo window. */
export const UNDO_SECONDS = 8;

/** Status changes that take a step back (audited like any status change). */
export const REVERTS: Readonly<Partial<Record<AppointmentStatus, AppointmentStatus>>> = {
  checked_in: 'scheduled',
  no_show: 'scheduled',
};

export const CANCEL_REASONS = [
  'Patient request',
  'Patient unwell',
  'Doctor unavailable',
  'Booked in error',
  'Other',
] as const;

export type RuleCode = 'in_past' | 'not_appointment_day' | 'check_in_too_early' | 'not_started';

export interface RuleViolation {
  code: RuleCode;
  message: string;
}

const MINUTE = 60_000;
const ms = (t: Date | string | number) => new Date(t).getTime();

export interface BookingTimeCheck {
  startsAt: Date | string | number;
  now: Date | number;
  /** Only an admin may back-fill, and only with a reason. */
  isAdmin: boolean;
  backfillReason?: string | null;
}

/**
 * No booking or move that starts in the past (beyond PAST_GRACE_MINUTES); an admin may
 * back-fill one with a stated reason (the write's audit entry keeps the reason).
 */
export function bookingTimeRule(c: BookingTimeCheck): RuleViolation | null {
  if (ms(c.startsAt) >= ms(c.now) - PAST_GRACE_MINUTES * MINUTE) return null;
  if (c.isAdmin && c.backfillReason && c.backfillReason.trim() !== '') return null;
  return {
    code: 'in_past',
    message: `The appointment would start in the past (more than ${PAST_GRACE_MINUTES} minutes ago); only an admin can back-fill it, with a reason.`,
  };
}

export interface StatusTimeCheck {
  to: AppointmentStatus;
  from: AppointmentStatus;
  startsAt: Date | string | number;
  now: Date | number;
  timeZone: string;
  checkInEarlyMinutes?: number;
}

/**
 * Steps bound to the clinic day: check-in only on the appointment's clinic day and no earlier
 * than the early window before its start; start (in progress) only on its clinic day;
 * no-show only once the start has passed; a revert (checked_in / no_show → scheduled) only on
 * its clinic day. Complete follows start by the status machine (only from in_progress).
 */
export function statusTimeRule(c: StatusTimeCheck): RuleViolation | null {
  const day = clinicDate(ms(c.startsAt), c.timeZone);
  const today = clinicDate(ms(c.now), c.timeZone);
  const early = c.checkInEarlyMinutes ?? DEFAULT_CHECK_IN_EARLY_MINUTES;
  const onItsDay = (what: string): RuleViolation | null =>
    today === day
      ? null
      : { code: 'not_appointment_day', message: `${what} only on the appointment's day (${day}, clinic time).` };
  switch (c.to) {
    case 'checked_in': {
      const wrongDay = onItsDay('Check-in is possible');
      if (wrongDay) return wrongDay;
      if (ms(c.now) < ms(c.startsAt) - early * MINUTE) {
        return { code: 'check_in_too_early', message: `Check-in opens ${early} minutes before the start.` };
      }
      return null;
    }
    case 'in_progress':
      return onItsDay('An appointment can be started');
    case 'no_show':
      return ms(c.now) < ms(c.startsAt)
        ? { code: 'not_started', message: 'A no-show can be recorded only once the start time has passed.' }
        : null;
    case 'scheduled':
      return REVERTS[c.from] === 'scheduled' ? onItsDay('A check-in or no-show can be reverted') : null;
    default:
      return null;
  }
}
