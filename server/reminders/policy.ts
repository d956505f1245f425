// The clinic's reminder policy: which reminders go out and when, quiet hours in clinic time,
// the clinic's public details and the text templates. One row (reminder_policy).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Queryable } from '../db/pool.js';

const time = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (24 h)')
  .nullable();

export const reminderRuleSchema = z.strictObject({
  channel: z.enum(['email', 'sms']),
  // Up to 30 days ahead, at least 5 minutes.
  minutes_before: z
    .number()
    .int()
    .min(5)
    .max(30 * 24 * 60),
});
export type ReminderRule = z.infer<typeof reminderRuleSchema>;

export const reminderPolicySchema = z
  .strictObject({
    rules: z.array(reminderRuleSchema).max(6),
    quiet_start: time,
    quiet_end: time,
    clinic_name: z.string().trim().min(1).max(200),
    clinic_address: z.string().max(500),
    how_to_cancel: z.string().max(500),
    email_subject: z.string().trim().min(1).max(200),
    email_body: z.string().trim().min(1).max(5000),
    sms_body: z.string().trim().min(1).max(640),
  })
  .refine((p) => (p.quiet_start === null) === (p.quiet_end === null), {
    path: ['quiet_end'],
    message: 'set both quiet_start and quiet_end, or neither',
  });
export type ReminderPolicy = z.infer<typeof reminderPolicySchema>;

export const reminderPolicyOutputSchema = z.object({
  ...reminderPolicySchema.shape,
  updated_at: z.iso.datetime(),
});

const COLUMNS = `rules, to_char(quiet_start, 'HH24:MI') AS quiet_start, to_char(quiet_end, 'HH24:MI') AS quiet_end,
  clinic_name, clinic_address, how_to_cancel, email_subject, email_body, sms_body`;

export async function loadPolicy(db: Queryable): Promise<ReminderPolicy & { updated_at: string }> {
  const { rows } = await db.query(`SELECT ${COLUMNS}, iso_utc(updated_at) AS updated_at FROM reminder_policy`);
  return rows[0];
}

export async function savePolicy(db: Queryable, policy: ReminderPolicy, userId: string) {
  const { rows } = await db.query(
    `UPDATE reminder_policy SET rules = $1, quiet_start = $2, quiet_end = $3, clinic_name = $4, clinic_address = $5,
       how_to_cancel = $6, email_subject = $7, email_body = $8, sms_body = $9, updated_at = now(), updated_by = $10
     RETURNING ${COLUMNS}, iso_utc(updated_at) AS updated_at`,
    [
      JSON.stringify(policy.rules),
      policy.quiet_start,
      policy.quiet_end,
      policy.clinic_name,
      policy.clinic_address,
      policy.how_to_cancel,
      policy.email_subject,
      policy.email_body,
      policy.sms_body,
      userId,
    ],
  );
  return rows[0] as ReminderPolicy & { updated_at: string };
}

/** The key that signs unsubscribe links: made once, kept in the policy row. */
export async function linkKey(db: Queryable): Promise<Buffer> {
  await db.query(`UPDATE reminder_policy SET link_key = $1 WHERE link_key IS NULL`, [randomBytes(32)]);
  const { rows } = await db.query<{ link_key: Buffer }>(`SELECT link_key FROM reminder_policy`);
  return rows[0]!.link_key;
}
