// Reminders left in `sending` longer than any send can take (REMINDER_SENDING_TIMEOUT_SECONDS;
// the SMTP and webhook timeouts are shorter) belonged to a process that died mid-send. Where
// the outbox file proves the message was written, it is `sent`; where the file proves it was
// not, it goes back to `pending`; with a real provider nobody can tell, so it goes to
// `review` for a person to decide (resend from the admin screen, or leave it).
import type { Pool } from '../db/pool.js';
import { enqueueReminder } from './enqueue.js';
import type { Transports } from './transports.js';

export async function sweepStuckReminders(
  pool: Pool,
  transports: Transports,
  timeoutSeconds: number,
): Promise<{ sent: number; retried: number; review: number }> {
  const { rows } = await pool.query<{ id: string; channel: 'email' | 'sms' }>(
    `SELECT id, channel FROM reminders WHERE status = 'sending' AND sending_at < now() - make_interval(secs => $1)
      ORDER BY sending_at LIMIT 1000`,
    [timeoutSeconds],
  );
  const counts = { sent: 0, retried: 0, review: 0 };
  for (const r of rows) {
    const proof = transports.provablySent(r.id, r.channel);
    if (proof === true) {
      await pool.query(
        `UPDATE reminders SET status = 'sent', sent_at = sending_at, outbox_file = $2, updated_at = now() WHERE id = $1 AND status = 'sending'`,
        [r.id, `${r.id}.${r.channel === 'email' ? 'eml' : 'json'}`],
      );
      counts.sent++;
    } else if (proof === false) {
      const { rowCount } = await pool.query(
        `UPDATE reminders SET status = 'pending', send_at = now(), last_error = 'interrupted before it was written', updated_at = now()
          WHERE id = $1 AND status = 'sending'`,
        [r.id],
      );
      if (rowCount) await enqueueReminder(pool, r.id, new Date());
      counts.retried++;
    } else {
      await pool.query(
        `UPDATE reminders SET status = 'review', last_error = 'interrupted while sending: it may have been delivered', updated_at = now()
          WHERE id = $1 AND status = 'sending'`,
        [r.id],
      );
      counts.review++;
    }
  }
  return counts;
}
