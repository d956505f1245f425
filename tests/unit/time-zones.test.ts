// The time-zone table: working hours, free slots and clinic-day boundaries on zone transition
// days, computed by the server's schedule (server/appointments/schedule.ts) and by the device
// (free slots from a real PGlite replica) — both must give exactly the expected instants.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeSlotsOn, withinWorkingHours } from '../../server/appointments/schedule.js';
import { appointmentWindowStart } from '../../server/clinic-sync/shape-rules.js';
import { freeSlots } from '../../src/lib/db/queries/slots.js';
import { bookingTimeRule, statusTimeRule } from '../../src/lib/shared/appointment-rules.js';
import {
  addDays,
  clinicDate,
  clinicDayRange,
  isoWeekday,
  NonexistentTimeError,
  zonedToUtc,
} from '../../src/lib/shared/time.js';
import { createLocalDb, type LocalTestDb } from './client-local-db.js';

interface Case {
  zone: string;
  date: string;
  hours: [string, string];
  /** the clinic day as UTC instants */
  day: [string, string];
  /** 30-minute free slots (UTC HH:MM) with no appointment booked */
  slots: string[];
  why: string;
}

const CASES: Case[] = [
  {
    zone: 'America/New_York',
    date: '2027-03-14',
    hours: ['02:00', '04:00'],
    day: ['2027-03-14T05:00:00.000Z', '2027-03-15T04:00:00.000Z'],
    slots: ['07:00', '07:15', '07:30'],
    why: 'spring forward: 02:00 does not exist and moves to 03:00 EDT; nothing at 01:xx EST',
  },
  {
    zone: 'America/New_York',
    date: '2026-11-01',
    hours: ['01:00', '03:00'],
    day: ['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z'],
    slots: ['05:00', '05:15', '05:30', '05:45', '06:00', '06:15', '06:30', '06:45', '07:00', '07:15', '07:30'],
    why: 'fall back: 01:00 is ambiguous and is its earlier (EDT) occurrence; the block lasts 3 hours',
  },
  {
    zone: 'America/Santiago',
    date: '2026-09-06',
    hours: ['00:00', '02:00'],
    day: ['2026-09-06T04:00:00.000Z', '2026-09-07T03:00:00.000Z'],
    slots: ['04:00', '04:15', '04:30'],
    why: 'midnight does not exist: the day starts at 01:00 -03 and is 23 hours long',
  },
  {
    zone: 'Europe/London',
    date: '2027-03-28',
    hours: ['00:30', '02:30'],
    day: ['2027-03-28T00:00:00.000Z', '2027-03-28T23:00:00.000Z'],
    slots: ['00:30', '00:45', '01:00'],
    why: 'spring forward at 01:00 GMT: 00:30 GMT to 02:30 BST is one hour',
  },
  {
    zone: 'Europe/London',
    date: '2026-10-25',
    hours: ['01:00', '02:30'],
    day: ['2026-10-24T23:00:00.000Z', '2026-10-26T00:00:00.000Z'],
    slots: ['00:00', '00:15', '00:30', '00:45', '01:00', '01:15', '01:30', '01:45', '02:00'],
    why: 'fall back: 01:00 BST (the earlier 01:00) to 02:30 GMT',
  },
  {
    zone: 'Australia/Lord_Howe',
    date: '2026-10-04',
    hours: ['02:00', '04:00'],
    day: ['2026-10-03T13:30:00.000Z', '2026-10-04T13:00:00.000Z'],
    slots: ['15:30', '15:45', '16:00', '16:15', '16:30'],
    why: 'a 30-minute spring forward: 02:00 moves to 02:30 +11',
  },
  {
    zone: 'Australia/Lord_Howe',
    date: '2027-04-04',
    hours: ['01:00', '03:00'],
    day: ['2027-04-03T13:00:00.000Z', '2027-04-04T13:30:00.000Z'],
    slots: ['14:00', '14:15', '14:30', '14:45', '15:00', '15:15', '15:30', '15:45', '16:00'],
    why: 'a 30-minute fall back: the day is 24.5 hours, the block 2.5',
  },
  {
    zone: 'Asia/Kolkata',
    date: '2026-11-30',
    hours: ['09:00', '10:00'],
    day: ['2026-11-29T18:30:00.000Z', '2026-11-30T18:30:00.000Z'],
    slots: ['03:30', '03:45', '04:00'],
    why: '+05:30, no DST',
  },
  {
    zone: 'Pacific/Chatham',
    date: '2026-09-27',
    hours: ['02:00', '04:00'],
    day: ['2026-09-26T11:15:00.000Z', '2026-09-27T10:15:00.000Z'],
    slots: ['13:15', '13:30', '13:45'],
    why: '+12:45 → +13:45 at 02:45: the block is one hour',
  },
  {
    zone: 'Pacific/Chatham',
    date: '2027-04-04',
    hours: ['02:00', '04:00'],
    day: ['2027-04-03T10:15:00.000Z', '2027-04-04T11:15:00.000Z'],
    slots: ['12:15', '12:30', '12:45', '13:00', '13:15', '13:30', '13:45', '14:00', '14:15', '14:30', '14:45'],
    why: '+13:45 → +12:45 at 03:45: the block is three hours',
  },
];

const hhmm = (iso: string | Date) => new Date(iso).toISOString().slice(11, 16);
const MINUTE = 60_000;

let db: LocalTestDb;
const doctorOf = (i: number) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`;

beforeAll(async () => {
  db = await createLocalDb();
  for (const [i, c] of CASES.entries()) {
    await db.query(`INSERT INTO doctors_synced (id, full_name, active) VALUES ($1, $2, true)`, [doctorOf(i), c.zone]);
    await db.query(
      `INSERT INTO doctor_hours_synced (id, doctor_id, weekday, start_time, end_time) VALUES (gen_random_uuid(), $1, $2, $3, $4)`,
      [doctorOf(i), isoWeekday(c.date), c.hours[0], c.hours[1]],
    );
  }
}, 120_000);
afterAll(() => db?.close());

describe.each(CASES.map((c, i) => ({ ...c, i })))('$zone $date ($why)', (c) => {
  const hours = [{ weekday: isoWeekday(c.date), start_time: c.hours[0], end_time: c.hours[1] }];

  it('the clinic day runs between the expected instants', () => {
    const range = clinicDayRange(c.date, c.zone);
    expect([range.from.toISOString(), range.to.toISOString()]).toEqual(c.day);
    expect(clinicDate(range.from, c.zone)).toBe(c.date);
    expect(clinicDate(range.from.getTime() - 1, c.zone)).toBe(addDays(c.date, -1));
    expect(clinicDate(range.to.getTime() - 1, c.zone)).toBe(c.date);
    expect(clinicDate(range.to, c.zone)).toBe(addDays(c.date, 1));
  });

  it('server and device offer the same free slots, and exactly the expected ones', async () => {
    const server = freeSlotsOn(c.date, 30, hours, [], c.zone).map((s) => hhmm(s.starts_at));
    const device = (await freeSlots(db, doctorOf(c.i), c.date, 30, c.zone)).map((s) => hhmm(s.starts_at));
    expect(server).toEqual(c.slots);
    expect(device).toEqual(server);
  });

  it('a booking just before the first slot is outside working hours; the first slot is inside', () => {
    const firstSlot = freeSlotsOn(c.date, 30, hours, [], c.zone)[0]!.starts_at;
    const before = new Date(firstSlot.getTime() - 45 * MINUTE);
    expect(withinWorkingHours(firstSlot, new Date(firstSlot.getTime() + 30 * MINUTE), hours, c.zone)).toBe(true);
    expect(withinWorkingHours(before, new Date(before.getTime() + 30 * MINUTE), hours, c.zone)).toBe(false);
  });

  it('the appointment window starts on a clinic-day start (a Monday)', () => {
    const start = appointmentWindowStart(new Date(c.day[0]), c.zone);
    const monday = clinicDate(new Date(start), c.zone);
    expect(isoWeekday(monday)).toBe(1);
    expect(clinicDayRange(monday, c.zone).from.toISOString()).toBe(start);
  });

  it('check-in and no-show rules read the clinic day of the zone', () => {
    const startsAt = freeSlotsOn(c.date, 30, hours, [], c.zone)[0]!.starts_at;
    const rule = (to: 'checked_in' | 'no_show', now: number) =>
      statusTimeRule({ from: 'scheduled', to, startsAt, now, timeZone: c.zone })?.code ?? null;
    // The last instant of the previous clinic day is another day, even if within the hour.
    const dayStart = Date.parse(c.day[0]);
    expect(rule('checked_in', dayStart - 1)).toBe('not_appointment_day');
    expect(rule('checked_in', Math.max(dayStart, startsAt.getTime() - 60 * MINUTE))).toBeNull();
    expect(rule('no_show', startsAt.getTime() - 1)).toBe('not_started');
    expect(rule('no_show', startsAt.getTime())).toBeNull();
  });
});

describe('wall-clock times that do not exist or exist twice', () => {
  it('a time in the spring-forward gap moves forward, or is refused on request', () => {
    expect(zonedToUtc('2027-03-14', '02:30', 'America/New_York').toISOString()).toBe('2027-03-14T07:30:00.000Z');
    expect(() => zonedToUtc('2027-03-14', '02:30', 'America/New_York', { gap: 'reject' })).toThrow(
      NonexistentTimeError,
    );
    expect(zonedToUtc('2026-10-04', '02:15', 'Australia/Lord_Howe').toISOString()).toBe('2026-10-03T15:45:00.000Z');
  });

  it('an ambiguous fall-back time is its earlier occurrence', () => {
    expect(zonedToUtc('2026-11-01', '01:30', 'America/New_York').toISOString()).toBe('2026-11-01T05:30:00.000Z');
    expect(zonedToUtc('2026-10-25', '01:30', 'Europe/London', { gap: 'reject' }).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
  });

  it('a booking in the past is refused beyond the grace, unless an admin back-fills with a reason', () => {
    const now = Date.parse('2027-03-14T07:20:00Z');
    expect(bookingTimeRule({ startsAt: '2027-03-14T07:15:00Z', now, isAdmin: false })).toBeNull();
    expect(bookingTimeRule({ startsAt: '2027-03-14T07:00:00Z', now, isAdmin: false })?.code).toBe('in_past');
    expect(bookingTimeRule({ startsAt: '2027-03-14T07:00:00Z', now, isAdmin: true })?.code).toBe('in_past');
    expect(
      bookingTimeRule({ startsAt: '2027-03-14T07:00:00Z', now, isAdmin: true, backfillReason: 'paper record' }),
    ).toBeNull();
    expect(
      bookingTimeRule({ startsAt: '2027-03-14T07:00:00Z', now, isAdmin: false, backfillReason: 'paper record' })?.code,
    ).toBe('in_past');
  });
});
