// The device side of the scheduling rules: before a booking, a move or a status change is
// written locally, the same shared rules the server applies (src/lib/shared/appointment-rules.ts)
// are checked against the device's clock and the clinic's zone, so a write the server would
// refuse is refused at once, offline too, with the server's words. The server stays the
// authority (its clock decides when the entry arrives).
import {
  bookingTimeRule,
  statusTimeRule,
  UNDO_SECONDS,
  type RuleCode,
  type RuleViolation,
} from '../shared/appointment-rules';
import type { AppointmentStatus } from '../shared/appointment-schemas';
import type { OutboxDb } from './db';
import { bookLocally, changeStatusLocally, LocalWriteError, rescheduleLocally, type BookingInput } from './writes';

/** A rule refused the write; `code` is the server's error code for the same rule. */
export class RuleRefusedError extends LocalWriteError {
  constructor(
    readonly code: RuleCode | 'validation_failed',
    message: string,
  ) {
    super(message);
    this.name = 'RuleRefusedError';
  }
}

export interface RuleContext {
  timeZone: string;
  checkInEarlyMinutes?: number;
  isAdmin?: boolean;
  /** the device's clock (epoch ms); tests pass a fixed one */
  now?: number;
}

/** The steps a single tap takes (and an undo can take back while they wait on the device). */
export const ONE_TAP_STEPS: readonly AppointmentStatus[] = [
  'confirmed',
  'checked_in',
  'in_progress',
  'completed',
  'no_show',
];

function refuse(broken: RuleViolation | null): void {
  if (broken) throw new RuleRefusedError(broken.code, broken.message);
}

export async function bookChecked(
  db: OutboxDb,
  userId: string,
  input: BookingInput,
  ctx: RuleContext,
  opts: { force?: boolean } = {},
): Promise<string> {
  refuse(
    bookingTimeRule({
      startsAt: input.starts_at,
      now: ctx.now ?? Date.now(),
      isAdmin: ctx.isAdmin ?? false,
      backfillReason: input.backfill_reason,
    }),
  );
  return bookLocally(db, userId, input, opts);
}

export async function rescheduleChecked(
  db: OutboxDb,
  userId: string,
  id: string,
  to: { starts_at: string; duration_minutes?: number; new_id?: string },
  ctx: RuleContext,
  opts: { force?: boolean } = {},
): Promise<string> {
  refuse(bookingTimeRule({ startsAt: to.starts_at, now: ctx.now ?? Date.now(), isAdmin: ctx.isAdmin ?? false }));
  return rescheduleLocally(db, userId, id, to, opts);
}

/** The row as the screen showed it when the user tapped (saves a read before the write). */
export interface ShownRow {
  status: AppointmentStatus;
  starts_at: Date | string;
}

/**
 * A status change (cancel, revert and the one-tap steps) under the rules; returns the outbox
 * entry's id. One-tap steps wait UNDO_SECONDS on the device so they can be undone (undo.ts).
 * With `shown` (the row on screen) the rules are checked against it and the local write is
 * allowed only from the shown status: no read first (each statement is a round trip to the
 * database worker that a tap waits for), and a row that changed meanwhile is refused, not
 * changed under rules checked against other data.
 */
export async function setStatusChecked(
  db: OutboxDb,
  userId: string,
  id: string,
  to: AppointmentStatus,
  ctx: RuleContext,
  reason?: string | null,
  shown?: ShownRow,
): Promise<string> {
  if (to === 'cancelled' && !reason?.trim()) throw new RuleRefusedError('validation_failed', 'Invalid input: reason.');
  const row =
    shown ??
    (
      await db.query<{ status: AppointmentStatus; starts_at: Date }>(
        'SELECT status, starts_at FROM appointments WHERE id = $1',
        [id],
      )
    ).rows[0];
  if (!row) throw new LocalWriteError('This appointment is not on this device.');
  refuse(
    statusTimeRule({
      from: row.status,
      to,
      startsAt: new Date(row.starts_at),
      now: ctx.now ?? Date.now(),
      timeZone: ctx.timeZone,
      checkInEarlyMinutes: ctx.checkInEarlyMinutes,
    }),
  );
  const holdSeconds = ONE_TAP_STEPS.includes(to) ? UNDO_SECONDS : 0;
  return changeStatusLocally(db, userId, id, to, to === 'cancelled' ? reason!.trim() : null, {
    holdSeconds,
    onlyFrom: shown?.status,
  });
}
