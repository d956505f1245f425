// The appointment window: how much appointment history a device syncs (docs/sync.md,
// "Appointment window"). The server scopes the appointments shape with it; the device uses
// the same anchor to ask for a patient's visits before it (subset snapshots on the patient
// page), so both sides draw the line at the same instant.
import { clinicDate, zonedToUtc } from './time';

/** Appointment history kept on a device: from Monday 8 weeks back (56–62 days), and all ahead. */
export const WINDOW_WEEKS = 8;

/**
 * The window's anchor: Monday 00:00 clinic time, WINDOW_WEEKS before the current week. It moves
 * once a week, so an appointments shape changes definition (and clients refetch) once a week.
 */
export function appointmentWindowStart(now: Date, timeZone: string): string {
  const today = clinicDate(now, timeZone);
  const d = new Date(`${today}T00:00:00Z`);
  const isoWeekday = ((d.getUTCDay() + 6) % 7) + 1;
  d.setUTCDate(d.getUTCDate() - (isoWeekday - 1) - WINDOW_WEEKS * 7);
  return zonedToUtc(d.toISOString().slice(0, 10), '00:00', timeZone).toISOString();
}
