import { z } from './zod';

const minutes = (max: number) => z.number().int().min(0).max(max);

export const appointmentTypeFields = {
  name: z.string().trim().min(1).max(100),
  default_duration_minutes: z.number().int().min(5).max(480),
  colour: z
    .string()
    .regex(/^#[0-9a-f]{6}$/, 'must be a colour #rrggbb (lower case)')
    .describe('the schedule grid shows the type in this colour'),
  buffer_before_minutes: minutes(120).describe('the doctor is held this long before the appointment'),
  buffer_after_minutes: minutes(120).describe('and this long after it'),
  active: z.boolean(),
  doctor_ids: z.array(z.uuid()).max(500).describe('the doctors who offer the type; empty = every doctor'),
};

export const createAppointmentTypeSchema = z.strictObject({
  id: z.uuid().optional().describe('client-chosen id; also the idempotency key'),
  name: appointmentTypeFields.name,
  default_duration_minutes: appointmentTypeFields.default_duration_minutes,
  colour: appointmentTypeFields.colour.default('#4a7bd0'),
  buffer_before_minutes: appointmentTypeFields.buffer_before_minutes.default(0),
  buffer_after_minutes: appointmentTypeFields.buffer_after_minutes.default(0),
  active: appointmentTypeFields.active.default(true),
  doctor_ids: appointmentTypeFields.doctor_ids.default([]),
});
export type CreateAppointmentTypeInput = z.output<typeof createAppointmentTypeSchema>;

export const updateAppointmentTypeSchema = z.strictObject({
  name: appointmentTypeFields.name.optional(),
  default_duration_minutes: appointmentTypeFields.default_duration_minutes.optional(),
  colour: appointmentTypeFields.colour.optional(),
  buffer_before_minutes: appointmentTypeFields.buffer_before_minutes.optional(),
  buffer_after_minutes: appointmentTypeFields.buffer_after_minutes.optional(),
  active: appointmentTypeFields.active.optional(),
  doctor_ids: appointmentTypeFields.doctor_ids.optional().describe('replaces the whole list'),
});
export type UpdateAppointmentTypeInput = z.output<typeof updateAppointmentTypeSchema>;

export const appointmentTypeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  default_duration_minutes: z.number().int(),
  colour: z.string(),
  buffer_before_minutes: z.number().int(),
  buffer_after_minutes: z.number().int(),
  active: z.boolean(),
  doctor_ids: z.array(z.uuid()),
});
export type AppointmentType = z.infer<typeof appointmentTypeSchema>;
