// A reminder's message: everything the sender needs in one read, and the texts built from the
// policy's templates. No clinical detail ever goes in (reason and notes are not even read):
// only the clinic, the doctor, the time, the place and how to cancel.
import type { Config } from '../config.js';
import type { Queryable } from '../db/pool.js';
import { buildInvite } from './ics.js';
import { unsubscribeToken } from './tokens.js';
import type { OutgoingEmail, OutgoingSms } from './transports.js';

export interface ReminderContext {
  id: string;
  appointment_id: string;
  channel: 'email' | 'sms';
  kind: 'reminder' | 'update' | 'cancel';
  status: string;
  send_at: Date;
  attempts: number;
  message_id: string | null;
  starts_at: Date;
  ends_at: Date;
  appointment_status: string;
  deleted: boolean;
  patient_id: string;
  email: string | null;
  phone: string | null;
  email_opt_out: boolean;
  sms_opt_out: boolean;
  doctor_name: string;
  chain_root: string;
  chain_depth: number;
  clinic_name: string;
  clinic_address: string;
  how_to_cancel: string;
  email_subject: string;
  email_body: string;
  sms_body: string;
  quiet_start: string | null;
  quiet_end: string | null;
}

export async function loadReminderContext(db: Queryable, id: string): Promise<ReminderContext | undefined> {
  const { rows } = await db.query<ReminderContext>(
    `WITH RECURSIVE r AS (SELECT * FROM reminders WHERE id = $1),
     chain AS (
       SELECT a.id, a.rescheduled_from, 0 AS depth FROM appointments a JOIN r ON a.id = r.appointment_id
       UNION ALL
       SELECT a.id, a.rescheduled_from, c.depth + 1 FROM appointments a JOIN chain c ON a.id = c.rescheduled_from
     ),
     root AS (SELECT id, depth FROM chain ORDER BY depth DESC LIMIT 1)
     SELECT r.id, r.appointment_id, r.channel, r.kind, r.status, r.send_at, r.attempts, r.message_id,
            a.starts_at, a.ends_at, a.status AS appointment_status, a.deleted_at IS NOT NULL AS deleted,
            p.id AS patient_id, NULLIF(p.email, '') AS email, NULLIF(p.phone, '') AS phone,
            COALESCE(cp.email_opt_out, false) AS email_opt_out, COALESCE(cp.sms_opt_out, false) AS sms_opt_out,
            d.full_name AS doctor_name, root.id AS chain_root, root.depth AS chain_depth,
            rp.clinic_name, rp.clinic_address, rp.how_to_cancel, rp.email_subject, rp.email_body, rp.sms_body,
            to_char(rp.quiet_start, 'HH24:MI') AS quiet_start, to_char(rp.quiet_end, 'HH24:MI') AS quiet_end
       FROM r
       JOIN appointments a ON a.id = r.appointment_id
       JOIN patients p ON p.id = a.patient_id
       JOIN doctors d ON d.id = a.doctor_id
       LEFT JOIN patient_contact_preferences cp ON cp.patient_id = p.id
       CROSS JOIN reminder_policy rp
       CROSS JOIN root`,
    [id],
  );
  return rows[0];
}

/** The domain of MAIL_FROM (for Message-IDs and invite UIDs). */
export function mailDomain(config: Config): string {
  return /@([^>\s]+)>?\s*$/.exec(config.mailFrom)?.[1] ?? 'localhost';
}

/** Stable for the reminder: a retry and an operator's resend carry the same Message-ID. */
export const messageIdOf = (config: Config, reminderId: string) => `<reminder.${reminderId}@${mailDomain(config)}>`;

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole);
}

function values(c: ReminderContext, timeZone: string): Record<string, string> {
  const date = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    weekday: 'long',
    day: 'numeric',
    month: 'long',
    year: 'numeric',
  });
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return {
    clinic: c.clinic_name,
    doctor: c.doctor_name,
    date: date.format(c.starts_at),
    time: time.format(c.starts_at),
    place: c.clinic_address || c.clinic_name,
    how_to_cancel: c.how_to_cancel,
  };
}

export function unsubscribeUrl(config: Config, key: Buffer, patientId: string, channel: 'email' | 'sms'): string {
  return `${config.publicOrigin}/api/reminders/unsubscribe?token=${unsubscribeToken(key, patientId, channel)}`;
}

export function buildEmail(c: ReminderContext, config: Config, linkKey: Buffer): OutgoingEmail {
  const v = values(c, config.clinicTimeZone);
  const unsubscribe = unsubscribeUrl(config, linkKey, c.patient_id, 'email');
  const subject =
    c.kind === 'cancel'
      ? `Cancelled: your appointment on ${v.date} at ${v.time}`
      : c.kind === 'update'
        ? `Changed: your appointment is now on ${v.date} at ${v.time}`
        : fill(c.email_subject, v);
  const lead =
    c.kind === 'cancel'
      ? `Your appointment at ${v.clinic} with ${v.doctor} on ${v.date} at ${v.time} has been cancelled.\n\n${v.how_to_cancel}`
      : c.kind === 'update'
        ? `Your appointment at ${v.clinic} has moved. It is now with ${v.doctor} on ${v.date} at ${v.time}.\n\nPlace: ${v.place}\n\n${v.how_to_cancel}`
        : fill(c.email_body, v);
  const text = `${lead}\n\n--\nTo stop these emails: ${unsubscribe}\n`;
  const domain = mailDomain(config);
  const method = c.kind === 'cancel' ? 'CANCEL' : 'REQUEST';
  const invite = buildInvite({
    uid: `appointment.${c.chain_root}@${domain}`,
    sequence: c.chain_depth + (c.kind === 'cancel' ? 1 : 0),
    method,
    startsAt: c.starts_at,
    endsAt: c.ends_at,
    timeZone: config.clinicTimeZone,
    title: `Appointment at ${v.clinic}`,
    description: `With ${v.doctor}. ${v.how_to_cancel}`,
    location: v.place,
    organizer: {
      name: c.clinic_name,
      email: /<?([^<>\s]+@[^<>\s]+)>?\s*$/.exec(config.mailFrom)?.[1] ?? `reminders@${domain}`,
    },
    attendeeEmail: c.email!,
  });
  return {
    reminderId: c.id,
    messageId: messageIdOf(config, c.id),
    from: config.mailFrom,
    to: c.email!,
    subject,
    text,
    headers: { 'List-Unsubscribe': `<${unsubscribe}>` },
    invite: { method, content: invite },
  };
}

export function buildSms(c: ReminderContext, config: Config): OutgoingSms {
  return {
    reminderId: c.id,
    messageId: messageIdOf(config, c.id),
    to: c.phone!,
    text: fill(c.sms_body, values(c, config.clinicTimeZone)),
  };
}
