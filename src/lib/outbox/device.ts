// The outbox of this tab's database: the runner (one sender per device, see runner.ts) and
// the actions screens call. Each action writes locally (durably) and then wakes the sender.
import type { AppointmentStatus } from '../shared/appointment-schemas';
import { currentDb, type LocalDb } from '../db/client';
import { session } from '../session/session.svelte';
import type { OutboxDb } from './db';
import { discardEntry } from './confirm';
import { OutboxRunner } from './runner';
import { retryNow } from './sender';
import { bookChecked, rescheduleChecked, setStatusChecked, type RuleContext, type ShownRow } from './rule-writes';
import { undoStep } from './undo';
import type { BookingInput } from './writes';

let runner: OutboxRunner | null = null;

export function startOutbox(db: LocalDb, dbKey: string): void {
  runner?.stop();
  runner = new OutboxRunner(db as unknown as OutboxDb, dbKey);
  runner.start();
}

export function stopOutbox(): void {
  runner?.stop();
  runner = null;
}

/** This tab's local database and signed-in user, for the write functions of each feature. */
export async function context(): Promise<{ db: OutboxDb; userId: string }> {
  const db = currentDb();
  const userId = session.user?.id;
  if (!db || !userId) throw new Error('Not signed in on this device.');
  return { db: (await db) as unknown as OutboxDb, userId };
}

/** The scheduling rules' view of this device: the clinic's zone and check-in window, the user's role. */
function rules(): RuleContext {
  return {
    timeZone: session.config.clinic_timezone,
    checkInEarlyMinutes: session.config.check_in_early_minutes,
    isAdmin: session.user?.role === 'admin',
  };
}

/**
 * The last local write's duration (tap to "saved on this device") as a User Timing measure,
 * `outbox.write`: the benchmark reads it to split a tap's time between the write and the
 * repaint. Only the latest is kept.
 */
function markWrite(started: number): void {
  performance.clearMeasures('outbox.write');
  performance.measure('outbox.write', { start: started });
}

/** Tells the sender (in whichever tab holds it) that a write was queued. */
export function kickSender(): void {
  runner?.kick();
}

export async function book(input: BookingInput, opts: { force?: boolean } = {}): Promise<string> {
  const { db, userId } = await context();
  const id = await bookChecked(db, userId, input, rules(), opts);
  runner?.kick();
  return id;
}

/**
 * Returns the outbox entry's id: a one-tap step can be undone with it for a few seconds.
 * Screens pass the row they show (`shown`): the rules are checked against it, without a read.
 */
export async function setStatus(
  id: string,
  status: AppointmentStatus,
  reason?: string | null,
  shown?: ShownRow,
): Promise<string> {
  const started = performance.now();
  const { db, userId } = await context();
  const entryId = await setStatusChecked(db, userId, id, status, rules(), reason, shown);
  markWrite(started);
  runner?.kick();
  return entryId;
}

/** Takes back a one-tap step that has not left the device yet. */
export async function undo(entryId: string): Promise<void> {
  const { db } = await context();
  await undoStep(db, entryId);
}

export async function reschedule(
  id: string,
  to: { starts_at: string; duration_minutes?: number },
  opts: { force?: boolean } = {},
): Promise<string> {
  const { db, userId } = await context();
  const newId = await rescheduleChecked(db, userId, id, to, rules(), opts);
  runner?.kick();
  return newId;
}

export async function discard(entryId: string): Promise<void> {
  const { db } = await context();
  await discardEntry(db, entryId);
}

export async function retryAll(): Promise<void> {
  const { db } = await context();
  await retryNow(db);
  runner?.kick();
}
