// Clinic time, on the Temporal API (temporal-polyfill): working hours are wall-clock times in
// the clinic's IANA zone, stored instants are UTC, and "a day" is a clinic day. The server
// (availability, booking checks, the sync window, seeding) and the device (free slots, the
// schedule views, the offline rules) use these same functions, so both read a wall-clock time
// the same way on every zone transition:
//
// - A wall-clock time that does not exist (the spring-forward gap, e.g. 02:30 on
//   America/New_York's 2027-03-14) is moved forward by the length of the gap (02:30 → 03:30
//   EDT), Temporal's 'compatible' disambiguation. Working hours 02:00–04:00 that day are
//   03:00–04:00 EDT: nothing is offered at 01:xx. `zonedToUtc(..., { gap: 'reject' })` refuses
//   such a time instead (NonexistentTimeError), for input typed as a wall-clock time.
// - An ambiguous one (the fall-back hour, e.g. 01:30 on 2026-11-01 in New York) is its
//   earlier occurrence (the offset before the change), also 'compatible'.
// - A clinic day runs from its first instant (Temporal's startOfDay: 01:00 on
//   America/Santiago's 2026-09-06, whose midnight does not exist) to the next day's first
//   instant; it can be 23, 23.5, 24, 24.5 or 25 hours long.
import { Temporal } from 'temporal-polyfill';

interface WallClock {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** A wall-clock time that the zone skips (spring-forward gap), refused on request. */
export class NonexistentTimeError extends Error {
  constructor(
    readonly date: string,
    readonly time: string,
    readonly timeZone: string,
  ) {
    super(`${date} ${time} does not exist in ${timeZone} (the clocks skip it).`);
    this.name = 'NonexistentTimeError';
  }
}

const toInstant = (instant: Date | number) => Temporal.Instant.fromEpochMilliseconds(new Date(instant).getTime());

function zoned(instant: Date | number, timeZone: string): Temporal.ZonedDateTime {
  return toInstant(instant).toZonedDateTimeISO(timeZone);
}

/** The wall clock of the zone at an instant. */
export function wallClock(instant: Date | number, timeZone: string): WallClock {
  const z = zoned(instant, timeZone);
  return { year: z.year, month: z.month, day: z.day, hour: z.hour, minute: z.minute, second: z.second };
}

/** Offset of the zone from UTC at an instant, in milliseconds (positive east of Greenwich). */
export function zoneOffsetMs(instant: number, timeZone: string): number {
  return zoned(instant, timeZone).offsetNanoseconds / 1_000_000;
}

function plainTime(time: string): Temporal.PlainTime {
  const [hh, mm, ss = 0] = time.split(':').map(Number) as [number, number, number?];
  return new Temporal.PlainTime(hh, mm, ss);
}

/**
 * The UTC instant of a wall-clock date ('YYYY-MM-DD') and time ('HH:MM[:SS]') in the zone.
 * A time in a spring-forward gap moves forward by the gap (or, with gap: 'reject', throws
 * NonexistentTimeError); an ambiguous fall-back time is its earlier occurrence.
 */
export function zonedToUtc(
  date: string,
  time: string,
  timeZone: string,
  { gap = 'forward' }: { gap?: 'forward' | 'reject' } = {},
): Date {
  const wall = Temporal.PlainDate.from(date).toPlainDateTime(plainTime(time));
  const z = wall.toZonedDateTime(timeZone, { disambiguation: 'compatible' });
  if (gap === 'reject' && Temporal.PlainDateTime.compare(z.toPlainDateTime(), wall) !== 0) {
    throw new NonexistentTimeError(date, time, timeZone);
  }
  return new Date(z.epochMilliseconds);
}

/** The first instant of a clinic day (not always 00:00: see America/Santiago). */
export function clinicDayStart(date: string, timeZone: string): Date {
  return new Date(Temporal.PlainDate.from(date).toZonedDateTime({ timeZone }).epochMilliseconds);
}

/** [first instant of the day, first instant of the next day) as UTC instants. */
export function clinicDayRange(date: string, timeZone: string): { from: Date; to: Date } {
  return { from: clinicDayStart(date, timeZone), to: clinicDayStart(addDays(date, 1), timeZone) };
}

/** The clinic-time calendar date ('YYYY-MM-DD') of an instant. */
export function clinicDate(instant: Date | number, timeZone: string): string {
  return zoned(instant, timeZone).toPlainDate().toString();
}

/** Minutes since the wall-clock midnight of an instant, in the zone (what a time grid draws). */
export function minutesIntoDay(instant: Date | number, timeZone: string): number {
  const z = zoned(instant, timeZone);
  return z.hour * 60 + z.minute;
}

/** ISO weekday (1 = Monday … 7 = Sunday) of a calendar date. */
export function isoWeekday(date: string): number {
  return Temporal.PlainDate.from(date).dayOfWeek;
}

/** Calendar date arithmetic on 'YYYY-MM-DD' strings. */
export function addDays(date: string, days: number): string {
  return Temporal.PlainDate.from(date).add({ days }).toString();
}

/** Minutes since midnight of 'HH:MM[:SS]'. */
export function minutesOfDay(time: string): number {
  const [h, m] = time.split(':').map(Number) as [number, number];
  return h * 60 + m;
}
