// Pure helpers of the schedule views: the clinic day as UTC instants, the visible hours.
import { addDays, clinicDate, isoWeekday, minutesOfDay, wallClock, zonedToUtc } from './shared/time';
import type { WorkingHours } from './db/queries/doctors';

export function todayIn(timeZone: string): string {
  return clinicDate(Date.now(), timeZone);
}

export function dayRange(date: string, timeZone: string): { from: string; to: string } {
  return {
    from: zonedToUtc(date, '00:00', timeZone).toISOString(),
    to: zonedToUtc(addDays(date, 1), '00:00', timeZone).toISOString(),
  };
}

export function nowMinute(date: string, timeZone: string): number | null {
  if (todayIn(timeZone) !== date) return null;
  const w = wallClock(Date.now(), timeZone);
  return w.hour * 60 + w.minute;
}

export function blocksFor(hours: WorkingHours[], doctorId: string, weekday: number) {
  return hours
    .filter((h) => h.doctor_id === doctorId && h.weekday === weekday)
    .map((h) => ({ start: minutesOfDay(h.start_time), end: minutesOfDay(h.end_time) }));
}

/** The visible span: every working block shown, and every appointment, in whole hours. */
export function visibleSpan(
  blocks: { start: number; end: number }[],
  appointmentMinutes: { start: number; end: number }[],
) {
  const all = [...blocks, ...appointmentMinutes];
  const start = all.length ? Math.min(...all.map((b) => b.start)) : 8 * 60;
  const end = all.length ? Math.max(...all.map((b) => b.end)) : 17 * 60;
  return { start: Math.floor(start / 60) * 60, end: Math.min(24 * 60, Math.ceil(end / 60) * 60) };
}

/** Monday of the ISO week that holds the date. */
export function weekStart(date: string): string {
  return addDays(date, 1 - isoWeekday(date));
}

export { addDays, isoWeekday };
