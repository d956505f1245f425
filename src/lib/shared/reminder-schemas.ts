// Reminders over HTTP: an appointment's reminders, the admin list of outgoing messages and the
// policy. Shared by the server (validation, OpenAPI) and the client screens.
import { z } from 'zod';

export const REMINDER_STATUSES = ['pending', 'sending', 'sent', 'failed', 'cancelled', 'review'] as const;
export const REMINDER_KINDS = ['reminder', 'update', 'cancel'] as const;
export const REMINDER_CHANNELS = ['email', 'sms'] as const;

export const reminderDetailSchema = z.object({
  id: z.uuid(),
  appointment_id: z.uuid(),
  channel: z.enum(REMINDER_CHANNELS),
  kind: z.enum(REMINDER_KINDS),
  status: z.enum(REMINDER_STATUSES),
  send_at: z.iso.datetime(),
  sent_at: z.iso.datetime().nullable(),
  attempts: z.number().int(),
  last_error: z.string().nullable(),
  message_id: z.string().nullable(),
  outbox_file: z.string().nullable(),
});
export type ReminderDetail = z.infer<typeof reminderDetailSchema>;

export const appointmentRemindersQuerySchema = z.strictObject({ appointment_id: z.uuid() });
export const appointmentRemindersSchema = z.object({ reminders: z.array(reminderDetailSchema) });

export const outgoingMessageSchema = reminderDetailSchema.extend({
  recipient: z.string().nullable(),
  starts_at: z.iso.datetime(),
  doctor_name: z.string(),
});
export type OutgoingMessage = z.infer<typeof outgoingMessageSchema>;

export const outgoingListQuerySchema = z.strictObject({
  status: z.enum(REMINDER_STATUSES).optional(),
  channel: z.enum(REMINDER_CHANNELS).optional(),
  kind: z.enum(REMINDER_KINDS).optional(),
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  page_size: z.coerce.number().int().min(1).max(200).default(50),
});

/** A patient's reminder channels as staff set them (PUT) and read them (GET). */
export const contactPreferencesInputSchema = z.strictObject({
  email_opt_out: z.boolean(),
  sms_opt_out: z.boolean(),
});
export type ContactPreferencesInput = z.infer<typeof contactPreferencesInputSchema>;

export const contactPreferencesSchema = contactPreferencesInputSchema.extend({
  /** who set them last: staff, or the patient through an unsubscribe link; null: never set */
  updated_via: z.enum(['staff', 'link']).nullable(),
  updated_at: z.string().nullable(),
  /** whether the patient has an address / a number at all */
  has_email: z.boolean(),
  has_phone: z.boolean(),
});
export type ContactPreferences = z.infer<typeof contactPreferencesSchema>;
