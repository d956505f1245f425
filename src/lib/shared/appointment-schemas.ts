import { text, z } from './zod';
import { paginationQuerySchema } from './pagination-schemas';

export const APPOINTMENT_STATUSES = [
  'scheduled',
  'confirmed',
  'checked_in',
  'in_progress',
  'completed',
  'cancelled',
  'no_show',
  'rescheduled',
] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

/** Statuses that hold the slot (the exclusion constraints cover exactly these). */
export const ACTIVE_STATUSES = ['scheduled', 'confirmed', 'checked_in', 'in_progress'] as const;

/** The status state machine (docs/booking.md): from → allowed next statuses. */
export const STATUS_TRANSITIONS: Readonly<Record<AppointmentStatus, readonly AppointmentStatus[]>> = {
  scheduled: ['confirmed', 'checked_in', 'cancelled', 'no_show'],
  confirmed: ['checked_in', 'cancelled', 'no_show'],
  // → scheduled: a check-in or no-show taken back, on the appointment's day (appointment-rules.ts).
  checked_in: ['in_progress', 'cancelled', 'scheduled'],
  in_progress: ['completed'],
  completed: [],
  cancelled: [],
  no_show: ['scheduled'],
  rescheduled: [],
};

/** Only appointments that have not started can be moved to another time. */
export const RESCHEDULABLE_STATUSES: readonly AppointmentStatus[] = ['scheduled', 'confirmed'];

export function canTransition(from: AppointmentStatus, to: AppointmentStatus): boolean {
  return STATUS_TRANSITIONS[from].includes(to);
}

export const URGENCIES = ['routine', 'urgent', 'emergency'] as const;
export type Urgency = (typeof URGENCIES)[number];

// An instant with an explicit offset, within years a clinic could plausibly book.
const instant = z.iso
  .datetime({ offset: true })
  .refine((s) => {
    const t = Date.parse(s);
    return Number.isFinite(t) && t >= Date.UTC(2000, 0, 1) && t < Date.UTC(2200, 0, 1);
  }, 'must be a date-time between 2000 and 2200')
  .describe('ISO 8601 with an offset, e.g. 2026-12-01T09:00:00Z');
const duration = z.number().int().min(5).max(480);
const reason = text().max(2000);
const backfillReason = text()
  .trim()
  .min(1)
  .max(500)
  .describe('admin only: why an appointment that starts in the past is entered (audited)');

export const createAppointmentSchema = z.strictObject({
  id: z.uuid().describe('chosen by the client; also the idempotency key'),
  patient_id: z.uuid(),
  doctor_id: z.uuid(),
  starts_at: instant,
  duration_minutes: duration,
  urgency: z.enum(URGENCIES).default('routine'),
  reason: reason.nullish(),
  type_id: z.uuid().nullish().describe('appointment type; its buffers count in the overlap check'),
  backfill_reason: backfillReason.nullish(),
});
export type CreateAppointmentInput = z.output<typeof createAppointmentSchema>;

export const rescheduleAppointmentSchema = z.strictObject({
  new_id: z.uuid().describe('id of the new appointment; also the idempotency key'),
  starts_at: instant,
  duration_minutes: duration.optional(),
  doctor_id: z.uuid().optional(),
  backfill_reason: backfillReason.nullish(),
});
export type RescheduleAppointmentInput = z.output<typeof rescheduleAppointmentSchema>;

export const cancelAppointmentSchema = z.strictObject({
  reason: z
    .string()
    .trim()
    .min(1, 'a reason is required')
    .max(2000)
    .describe('why: one of the pick list (CANCEL_REASONS), optionally followed by ": " and free text'),
});

export const statusChangeSchema = z.strictObject({
  status: z.enum(APPOINTMENT_STATUSES),
  version: z.number().int().min(1).optional(),
});

export const updateAppointmentSchema = z.strictObject({
  reason: reason.nullish(),
  clinical_notes: text().max(20_000).nullish(),
  urgency: z.enum(URGENCIES).optional(),
  version: z.number().int().min(1),
});
export type UpdateAppointmentInput = z.output<typeof updateAppointmentSchema>;

const commaList = <T extends readonly [string, ...string[]]>(values: T) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(values)).min(1).max(values.length));

/** Unknown parameters are refused: a misspelt filter must not return everything. */
export const appointmentListQuerySchema = z.strictObject({
  ...paginationQuerySchema.shape,
  doctor_id: z.uuid().optional(),
  patient_id: z.uuid().optional(),
  status: commaList(APPOINTMENT_STATUSES).optional().describe('comma-separated statuses'),
  urgency: z.enum(URGENCIES).optional(),
  from: instant.optional().describe('appointments ending after this instant'),
  to: instant.optional().describe('appointments starting before this instant'),
});
export type AppointmentListQuery = z.output<typeof appointmentListQuerySchema>;

export const idempotencyKeySchema = z.uuid();

export const reminderSchema = z.object({
  id: z.uuid(),
  channel: z.enum(['email', 'sms']),
  send_at: z.iso.datetime(),
  status: z.enum(['pending', 'sending', 'sent', 'failed', 'cancelled', 'review']),
});

export const appointmentSchema = z.object({
  id: z.uuid(),
  patient_id: z.uuid(),
  doctor_id: z.uuid(),
  starts_at: z.iso.datetime(),
  ends_at: z.iso.datetime(),
  duration_minutes: z.number().int(),
  status: z.enum(APPOINTMENT_STATUSES),
  urgency: z.enum(URGENCIES),
  reason: z.string().nullable(),
  clinical_notes: z.string().nullable().optional().describe('only for clinicians (own appointments) and admins'),
  cancelled_by: z.uuid().nullable(),
  cancelled_at: z.iso.datetime().nullable(),
  cancellation_reason: z.string().nullable(),
  rescheduled_from: z.uuid().nullable(),
  series_id: z.uuid().nullable().optional().describe('the recurring series this appointment belongs to'),
  created_by: z.uuid().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
  version: z.number().int(),
  type_id: z.uuid().nullable(),
  buffer_before_minutes: z.number().int(),
  buffer_after_minutes: z.number().int(),
  type: z.object({ id: z.uuid(), name: z.string(), colour: z.string() }).nullable(),
  patient: z.object({ id: z.uuid(), full_name: z.string(), mrn: z.string() }),
  doctor: z.object({ id: z.uuid(), full_name: z.string(), specializations: z.array(z.string()) }),
  reminders: z.array(reminderSchema),
});
export type Appointment = z.infer<typeof appointmentSchema>;

export const appointmentWriteResultSchema = z.object({ appointment: appointmentSchema, txid: z.number().int() });

const interval = z.object({ starts_at: z.iso.datetime(), ends_at: z.iso.datetime() });
/** details of a 409 slot_conflict / patient_conflict. */
export const conflictDetailsSchema = z.object({
  conflicts: z.array(interval.extend({ id: z.uuid() })),
  suggestions: z.array(interval).optional(),
});
