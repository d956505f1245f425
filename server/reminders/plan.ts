// When each reminder of an appointment goes out: pure functions over the policy, so the
// booking hook and the sender (which re-checks quiet hours) share one rule.
import { addDays, clinicDate, minutesOfDay, wallClock, zonedToUtc } from '../../src/lib/shared/time.js';
import type { ReminderRule } from './policy.js';

export interface QuietHours {
  quiet_start: string | null;
  quiet_end: string | null;
}

/** True when the instant's clinic wall-clock time is inside [quiet_start, quiet_end). */
export function inQuietHours(at: Date, quiet: QuietHours, timeZone: string): boolean {
  if (!quiet.quiet_start || !quiet.quiet_end) return false;
  const w = wallClock(at, timeZone);
  const m = w.hour * 60 + w.minute;
  const start = minutesOfDay(quiet.quiet_start);
  const end = minutesOfDay(quiet.quiet_end);
  if (start === end) return false;
  return start < end ? m >= start && m < end : m >= start || m < end;
}

/** The first instant at or after `at` outside quiet hours (the end of the window it is in). */
export function afterQuietHours(at: Date, quiet: QuietHours, timeZone: string): Date {
  if (!inQuietHours(at, quiet, timeZone)) return at;
  const date = clinicDate(at, timeZone);
  const today = zonedToUtc(date, quiet.quiet_end!, timeZone);
  return today > at ? today : zonedToUtc(addDays(date, 1), quiet.quiet_end!, timeZone);
}

/** The last instant before `at` outside quiet hours (just before the window started). */
function beforeQuietHours(at: Date, quiet: QuietHours, timeZone: string): Date {
  const date = clinicDate(at, timeZone);
  let start = zonedToUtc(date, quiet.quiet_start!, timeZone);
  if (start > at) start = zonedToUtc(addDays(date, -1), quiet.quiet_start!, timeZone);
  return new Date(start.getTime() - 60_000);
}

export interface PlannedReminder {
  channel: 'email' | 'sms';
  send_at: Date;
}

/**
 * The reminders of an appointment starting at `startsAt`, for the channels the patient can be
 * reached on. A time in quiet hours moves to their end, or, if that is too late (after the
 * appointment), to just before they began. Times already past are dropped: a reminder for a
 * booking made at short notice would only repeat what the patient was just told.
 */
export function planReminders(
  startsAt: Date,
  rules: ReminderRule[],
  quiet: QuietHours,
  reachable: { email: boolean; sms: boolean },
  now: Date,
  timeZone: string,
): PlannedReminder[] {
  const planned: PlannedReminder[] = [];
  for (const rule of rules) {
    if (!reachable[rule.channel]) continue;
    let at = new Date(startsAt.getTime() - rule.minutes_before * 60_000);
    if (inQuietHours(at, quiet, timeZone)) {
      const later = afterQuietHours(at, quiet, timeZone);
      at = later < startsAt ? later : beforeQuietHours(at, quiet, timeZone);
    }
    if (at > now && at < startsAt) planned.push({ channel: rule.channel, send_at: at });
  }
  return planned;
}
