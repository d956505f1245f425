// Today's patient flow for reception, from the local replica: who is waiting (checked in, not
// started) and for how long, who is with a clinician. Plain functions and SQL, testable
// without a DOM; the page reads them live.
import { addDays, clinicDate, zonedToUtc } from '../../../lib/shared/time';

export interface FlowRow {
  id: string;
  status: 'checked_in' | 'in_progress';
  starts_at: string | Date;
  /** Last change of the row: for a checked-in visit, when it was checked in. */
  updated_at: string | Date;
  urgency: string;
  pending: boolean;
  patient_name: string | null;
  doctor_name: string | null;
}

/** The clinic's "today" as a UTC range. */
export function todayRange(nowMs: number, timeZone: string): { from: string; to: string } {
  const day = clinicDate(nowMs, timeZone);
  return {
    from: zonedToUtc(day, '00:00', timeZone).toISOString(),
    to: zonedToUtc(addDays(day, 1), '00:00', timeZone).toISOString(),
  };
}

/** Checked-in and in-progress visits starting today (local views: synced rows plus local changes). */
export function flowQuery(from: string, to: string): { sql: string; params: unknown[] } {
  return {
    sql: `SELECT a.id, a.status, a.starts_at, a.updated_at, a.urgency, a.pending,
                 (SELECT p.full_name FROM patients p WHERE p.id = a.patient_id) AS patient_name,
                 (SELECT d.full_name FROM doctors d WHERE d.id = a.doctor_id) AS doctor_name
            FROM appointments a
           WHERE a.status IN ('checked_in', 'in_progress') AND a.starts_at >= $1 AND a.starts_at < $2
           ORDER BY a.updated_at, a.id`,
    params: [from, to],
  };
}

export type WaitLevel = 'ok' | 'long' | 'too-long';
export const WAIT_MINUTES = { long: 15, tooLong: 30 } as const;

export function waitingMinutes(row: FlowRow, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - new Date(row.updated_at).getTime()) / 60_000));
}

export function waitLevel(minutes: number): WaitLevel {
  return minutes >= WAIT_MINUTES.tooLong ? 'too-long' : minutes >= WAIT_MINUTES.long ? 'long' : 'ok';
}

/** Waiting: longest wait first (emergencies on top); in progress: longest-running first. */
export function splitFlow(rows: FlowRow[], nowMs: number) {
  const rank = (r: FlowRow) => (r.urgency === 'emergency' ? 0 : r.urgency === 'urgent' ? 1 : 2);
  const waiting = rows
    .filter((r) => r.status === 'checked_in')
    .map((r) => ({ ...r, minutes: waitingMinutes(r, nowMs) }))
    .sort((a, b) => rank(a) - rank(b) || b.minutes - a.minutes);
  const inProgress = rows
    .filter((r) => r.status === 'in_progress')
    .map((r) => ({ ...r, minutes: waitingMinutes(r, nowMs) }))
    .sort((a, b) => b.minutes - a.minutes);
  return { waiting, inProgress };
}
