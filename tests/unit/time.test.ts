import { describe, expect, it } from 'vitest';
import { addDays, clinicDate, isoWeekday, zonedToUtc } from '../../src/lib/shared/time.js';

describe('clinic time', () => {
  it('converts wall-clock times to UTC, across DST', () => {
    expect(zonedToUtc('2026-01-15', '08:00', 'Europe/Berlin').toISOString()).toBe('2026-01-15T07:00:00.000Z');
    expect(zonedToUtc('2026-07-15', '08:00', 'Europe/Berlin').toISOString()).toBe('2026-07-15T06:00:00.000Z');
    expect(zonedToUtc('2026-03-08', '09:00', 'America/New_York').toISOString()).toBe('2026-03-08T13:00:00.000Z');
    expect(zonedToUtc('2026-03-07', '09:00', 'America/New_York').toISOString()).toBe('2026-03-07T14:00:00.000Z');
    expect(zonedToUtc('2026-05-01', '17:00', 'UTC').toISOString()).toBe('2026-05-01T17:00:00.000Z');
  });

  it('finds the clinic date and weekday of an instant', () => {
    expect(clinicDate(new Date('2026-01-15T23:30:00Z'), 'Europe/Berlin')).toBe('2026-01-16');
    expect(clinicDate(new Date('2026-01-15T23:30:00Z'), 'UTC')).toBe('2026-01-15');
    expect(isoWeekday('2026-11-29')).toBe(7);
    expect(isoWeekday('2026-11-30')).toBe(1);
    expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
    expect(addDays('2024-03-01', -1)).toBe('2024-02-29');
  });
});
