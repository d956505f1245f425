// The outbox of this tab's database: the runner (one sender per device, see runner.ts) and
// the actions screens call. Each action writes locally (durably) and then wakes the sender.
import type { AppointmentStatus } from '../shared/appointment-schemas';
import { currentDb, type LocalDb } from '../db/client';
import { session } from '../session/session.svelte';
import type { OutboxDb } from './db';
import { discardEntry } from './confirm';
import { OutboxRunner } from './runner';
import { retryNow } from './sender';
import { bookLocally, changeStatusLocally, rescheduleLocally, type BookingInput } from './writes';

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

/** Tells the sender (in whichever tab holds it) that a write was queued. */
export function kickSender(): void {
  runner?.kick();
}

export async function book(input: BookingInput, opts: { force?: boolean } = {}): Promise<string> {
  const { db, userId } = await context();
  const id = await bookLocally(db, userId, input, opts);
  runner?.kick();
  return id;
}

export async function setStatus(id: string, status: AppointmentStatus, reason?: string | null): Promise<void> {
  const { db, userId } = await context();
  await changeStatusLocally(db, userId, id, status, reason);
  runner?.kick();
}

export async function reschedule(
  id: string,
  to: { starts_at: string; duration_minutes?: number },
  opts: { force?: boolean } = {},
): Promise<string> {
  const { db, userId } = await context();
  const newId = await rescheduleLocally(db, userId, id, to, opts);
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
