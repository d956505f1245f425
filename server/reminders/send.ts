// Sending one reminder, at most once. The row moves pending → sending (committed before the
// provider is contacted) → sent | failed; pending again only after a failure that provably
// delivered nothing; review when it may have gone out (a timeout mid-session, or a crash while
// `sending`, see sweep.ts). Each job only wakes a reminder up: the row decides.
import type { Config } from '../config.js';
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import { reminderOutcomes } from '../observability/metrics.js';
import { enqueueReminder } from './enqueue.js';
import { buildEmail, buildSms, loadReminderContext, messageIdOf, type ReminderContext } from './message.js';
import { afterQuietHours, inQuietHours } from './plan.js';
import { linkKey } from './policy.js';
import { SendFailure, type Transports } from './transports.js';

export interface SendDeps {
  pool: Pool;
  config: Config;
  logger: Logger;
  transports: Transports;
}

export type SendOutcome = 'sent' | 'failed' | 'retry' | 'review' | 'cancelled' | 'deferred' | 'skipped';

/** Attempt n (1-based) failed temporarily: wait base, 2 × base, 4 × base … (default 1, 2, 4 … minutes), at most an hour. */
export const backoffMs = (attempt: number, baseSeconds: number) =>
  Math.min(3600, baseSeconds * 2 ** (attempt - 1)) * 1000;

const ACTIVE = new Set(['scheduled', 'confirmed']);

/** Why this reminder must not go out now, or null. */
function reasonToDrop(c: ReminderContext, now: Date): string | null {
  if (c.deleted) return 'appointment deleted';
  if (c.kind !== 'cancel' && !ACTIVE.has(c.appointment_status)) return `appointment ${c.appointment_status}`;
  if (c.kind === 'reminder' && c.starts_at <= now) return 'appointment already started';
  if (c.channel === 'email' && !c.email) return 'no email address';
  if (c.channel === 'sms' && !c.phone) return 'no phone number';
  if (c.channel === 'email' && c.email_opt_out) return 'patient opted out of email';
  if (c.channel === 'sms' && c.sms_opt_out) return 'patient opted out of SMS';
  return null;
}

async function finish(pool: Pool, id: string, status: 'failed' | 'review', error: string) {
  await pool.query(
    `UPDATE reminders SET status = $2, last_error = $3, updated_at = now() WHERE id = $1 AND status = 'sending'`,
    [id, status, error.slice(0, 2000)],
  );
}

export async function sendReminder(deps: SendDeps, id: string): Promise<SendOutcome> {
  const { pool, config, transports } = deps;
  const now = new Date();
  const c = await loadReminderContext(pool, id);
  if (!c || c.status !== 'pending' || c.send_at.getTime() > now.getTime() + 1000) return 'skipped';

  const drop = reasonToDrop(c, now);
  if (drop) {
    await pool.query(
      `UPDATE reminders SET status = 'cancelled', last_error = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`,
      [id, drop],
    );
    return 'cancelled';
  }
  // Quiet hours are checked again at send time: a job delayed by an outage must not go out at night.
  if (c.kind === 'reminder' && inQuietHours(now, c, config.clinicTimeZone)) {
    const later = afterQuietHours(now, c, config.clinicTimeZone);
    if (later < c.starts_at) {
      await pool.query(`UPDATE reminders SET send_at = $2, updated_at = now() WHERE id = $1 AND status = 'pending'`, [
        id,
        later,
      ]);
      await enqueueReminder(pool, id, later);
      return 'deferred';
    }
  }

  const recipient = c.channel === 'email' ? c.email! : c.phone!;
  const claimed = await pool.query<{ attempts: number }>(
    `UPDATE reminders SET status = 'sending', attempts = attempts + 1, sending_at = now(), updated_at = now(),
            message_id = COALESCE(message_id, $2), recipient = $3
      WHERE id = $1 AND status = 'pending' AND send_at <= now() + interval '1 second'
      RETURNING attempts`,
    [id, messageIdOf(config, id), recipient],
  );
  if (claimed.rowCount === 0) return 'skipped';
  const attempts = claimed.rows[0]!.attempts;

  try {
    const delivered =
      c.channel === 'email'
        ? await transports.email(buildEmail(c, config, await linkKey(pool)))
        : await transports.sms(buildSms(c, config));
    await pool.query(
      `UPDATE reminders SET status = 'sent', sent_at = now(), last_error = NULL, outbox_file = $2, updated_at = now()
        WHERE id = $1 AND status IN ('sending', 'review')`,
      [id, delivered.outboxFile ?? null],
    );
    reminderOutcomes.inc({ channel: c.channel, outcome: 'sent' });
    return 'sent';
  } catch (err) {
    const failure = err instanceof SendFailure ? err : new SendFailure('temporary', String(err));
    deps.logger.warn({ reminder: id, kind: failure.kind, attempts, err: failure.message }, 'reminder send failed');
    if (failure.kind === 'unknown') {
      await finish(pool, id, 'review', `may have been delivered: ${failure.message}`);
      reminderOutcomes.inc({ channel: c.channel, outcome: 'review' });
      return 'review';
    }
    if (failure.kind === 'permanent' || attempts >= config.reminderMaxAttempts) {
      await finish(pool, id, 'failed', failure.message);
      reminderOutcomes.inc({ channel: c.channel, outcome: 'failed' });
      return 'failed';
    }
    const next = new Date(Date.now() + backoffMs(attempts, config.reminderRetryBaseSeconds));
    await pool.query(
      `UPDATE reminders SET status = 'pending', send_at = $2, last_error = $3, updated_at = now() WHERE id = $1 AND status = 'sending'`,
      [id, next, failure.message.slice(0, 2000)],
    );
    await enqueueReminder(pool, id, next);
    reminderOutcomes.inc({ channel: c.channel, outcome: 'retry' });
    return 'retry';
  }
}
