// What a booking write does to its reminders, in the write's own transaction. The booking
// service calls one of these per write; each is a no-op when there is nothing to do.
import { prepared, type PoolClient } from '../db/pool.js';
import { enqueueReminders } from './enqueue.js';
import { planReminders } from './plan.js';
import type { ReminderRule } from './policy.js';

interface Context {
  starts_at: Date;
  email: boolean;
  sms: boolean;
  rules: ReminderRule[];
  quiet_start: string | null;
  quiet_end: string | null;
}

const CONTEXT_COLUMNS = `p.email IS NOT NULL AND p.email <> '' AND NOT COALESCE(cp.email_opt_out, false) AS email,
            p.phone IS NOT NULL AND p.phone <> '' AND NOT COALESCE(cp.sms_opt_out, false) AS sms,
            rp.rules, to_char(rp.quiet_start, 'HH24:MI') AS quiet_start, to_char(rp.quiet_end, 'HH24:MI') AS quiet_end`;

/** Policy, the appointment's time and whether the patient can be reached on each channel. */
async function contextOf(tx: PoolClient, appointmentId: string): Promise<Context | undefined> {
  const { rows } = await tx.query<Context>(
    `SELECT a.starts_at, ${CONTEXT_COLUMNS}
       FROM appointments a
       JOIN patients p ON p.id = a.patient_id
       LEFT JOIN patient_contact_preferences cp ON cp.patient_id = a.patient_id
       CROSS JOIN reminder_policy rp
      WHERE a.id = $1`,
    [appointmentId],
  );
  return rows[0];
}

export type ReminderContext = Omit<Context, 'starts_at'>;

/**
 * The policy and the patient's channels, read before a booking locks its doctor so the lock is
 * not held for this read. A channel turned off meanwhile is harmless: the sender checks the
 * patient's preferences again before anything goes out.
 */
export async function reminderContextOf(tx: PoolClient, patientId: string): Promise<ReminderContext | undefined> {
  const { rows } = await tx.query<ReminderContext>(
    prepared(
      `SELECT ${CONTEXT_COLUMNS}
         FROM patients p
         LEFT JOIN patient_contact_preferences cp ON cp.patient_id = p.id
         CROSS JOIN reminder_policy rp
        WHERE p.id = $1`,
      [patientId],
    ),
  );
  return rows[0];
}

async function insertAndEnqueue(
  tx: PoolClient,
  appointmentId: string,
  rows: Array<{ channel: 'email' | 'sms'; send_at: Date; kind: 'reminder' | 'update' | 'cancel' }>,
): Promise<void> {
  if (rows.length === 0) return;
  const { rows: inserted } = await tx.query<{ id: string; send_at: Date }>(
    prepared(
      `INSERT INTO reminders (appointment_id, channel, send_at, kind)
       SELECT $1, r.channel, r.send_at, r.kind
         FROM jsonb_to_recordset($2::jsonb) AS r(channel text, send_at timestamptz, kind text)
       RETURNING id, send_at`,
      [appointmentId, JSON.stringify(rows)],
    ),
  );
  await enqueueReminders(tx, inserted);
}

/**
 * A new booking: its reminders per the policy. `known` is the context read before the booking
 * locked its doctor (reminderContextOf); without it, it is read here.
 */
export async function scheduleReminders(
  tx: PoolClient,
  appointmentId: string,
  timeZone: string,
  known?: { startsAt: Date; context: ReminderContext | undefined },
): Promise<void> {
  const c = known
    ? known.context && { ...known.context, starts_at: known.startsAt }
    : await contextOf(tx, appointmentId);
  if (!c || c.rules.length === 0) return;
  const planned = planReminders(c.starts_at, c.rules, c, { email: c.email, sms: c.sms }, new Date(), timeZone);
  await insertAndEnqueue(
    tx,
    appointmentId,
    planned.map((p) => ({ ...p, kind: 'reminder' as const })),
  );
}

/** Pending reminders of an appointment stop (they will never go out); returns how many. */
async function cancelPending(tx: PoolClient, appointmentId: string, why: string): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE reminders SET status = 'cancelled', last_error = $2, updated_at = now()
      WHERE appointment_id = $1 AND status = 'pending'`,
    [appointmentId, why],
  );
  return rowCount ?? 0;
}

const hasEmailRule = (c: Context) => c.rules.some((r) => r.channel === 'email');

/**
 * A reschedule: the old appointment's pending reminders stop, the new one gets its own, and
 * the patient is told at once by email (the calendar invite moves: same UID, next SEQUENCE).
 */
export async function moveReminders(tx: PoolClient, oldId: string, newId: string, timeZone: string): Promise<void> {
  await cancelPending(tx, oldId, 'rescheduled');
  const c = await contextOf(tx, newId);
  if (!c) return;
  const now = new Date();
  const planned = planReminders(c.starts_at, c.rules, c, { email: c.email, sms: c.sms }, now, timeZone);
  await insertAndEnqueue(tx, newId, [
    ...(c.email && hasEmailRule(c) && c.starts_at > now
      ? [{ channel: 'email' as const, send_at: now, kind: 'update' as const }]
      : []),
    ...planned.map((p) => ({ ...p, kind: 'reminder' as const })),
  ]);
}

/** Statuses after which the patient is no longer expected: their reminders stop. */
const STOPS = new Set(['cancelled', 'no_show', 'checked_in', 'in_progress', 'completed', 'deleted']);

/**
 * The appointment left the schedule (cancelled, no-show, deleted, seen): pending reminders
 * stop. A cancellation of an appointment still ahead also sends the calendar cancel by email.
 */
export async function stopReminders(tx: PoolClient, appointmentId: string, to: string): Promise<void> {
  if (!STOPS.has(to)) return;
  await cancelPending(tx, appointmentId, to);
  if (to !== 'cancelled') return;
  const c = await contextOf(tx, appointmentId);
  const now = new Date();
  if (!c || !c.email || !hasEmailRule(c) || c.starts_at <= now) return;
  await insertAndEnqueue(tx, appointmentId, [{ channel: 'email', send_at: now, kind: 'cancel' }]);
}

type Channel = 'email' | 'sms';

/** Upcoming appointments of a patient that still expect reminders. */
const UPCOMING = `SELECT a.id FROM appointments a
                   WHERE a.patient_id = $1 AND a.deleted_at IS NULL AND a.starts_at > now()
                     AND a.status IN ('scheduled', 'confirmed')`;

/** The patient opted out of a channel: its pending reminders stop; returns how many. */
export async function stopChannel(tx: PoolClient, patientId: string, channel: Channel): Promise<number> {
  const { rowCount } = await tx.query(
    `UPDATE reminders SET status = 'cancelled', last_error = $3, updated_at = now()
      WHERE status = 'pending' AND channel = $2 AND appointment_id IN (${UPCOMING})`,
    [patientId, channel, channel === 'sms' ? 'patient opted out of SMS' : 'patient opted out of email'],
  );
  return rowCount ?? 0;
}

/**
 * The patient can be reached on a channel again: the upcoming appointments get that channel's
 * reminders per the policy, except those already planned or sent (a reminder whose time has
 * passed is not sent late). Returns how many were planned.
 */
export async function resumeChannel(
  tx: PoolClient,
  patientId: string,
  channel: Channel,
  timeZone: string,
): Promise<number> {
  const { rows: upcoming } = await tx.query<{ id: string }>(UPCOMING, [patientId]);
  let planned = 0;
  const now = new Date();
  for (const { id } of upcoming) {
    const c = await contextOf(tx, id);
    if (!c || !c[channel]) continue;
    const wanted = planReminders(c.starts_at, c.rules, c, { email: c.email, sms: c.sms }, now, timeZone).filter(
      (p) => p.channel === channel,
    );
    if (wanted.length === 0) continue;
    const { rows: existing } = await tx.query<{ send_at: Date }>(
      `SELECT send_at FROM reminders
        WHERE appointment_id = $1 AND channel = $2 AND kind = 'reminder' AND status IN ('pending', 'sending', 'sent', 'review')`,
      [id, channel],
    );
    const have = new Set(existing.map((r) => r.send_at.getTime()));
    const missing = wanted.filter((p) => !have.has(p.send_at.getTime()));
    await insertAndEnqueue(
      tx,
      id,
      missing.map((p) => ({ ...p, kind: 'reminder' as const })),
    );
    planned += missing.length;
  }
  return planned;
}
