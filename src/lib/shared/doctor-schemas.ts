import { text, z } from './zod';
import { paginationQuerySchema } from './pagination-schemas';

const clockTime = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/, 'must be a time HH:MM in clinic time')
  .transform((t) => t.slice(0, 5));

export const workingHoursSchema = z
  .strictObject({
    weekday: z.number().int().min(1).max(7).describe('ISO weekday: 1 = Monday … 7 = Sunday'),
    start: clockTime,
    end: clockTime,
  })
  .refine((h) => h.start < h.end, { message: 'start must be before end', path: ['end'] });

const workingHoursList = z
  .array(workingHoursSchema)
  .max(50)
  .refine(
    (list) =>
      list.every((a, i) =>
        list.every((b, j) => i === j || a.weekday !== b.weekday || a.end <= b.start || b.end <= a.start),
      ),
    'blocks of one weekday may not overlap',
  );

const specializationNames = z.array(text().trim().min(1).max(100)).max(20);

export const createDoctorSchema = z.strictObject({
  id: z.uuid().optional().describe('client-chosen id; also the idempotency key'),
  full_name: text().trim().min(1).max(200),
  active: z.boolean().optional(),
  specializations: specializationNames.default([]),
  working_hours: workingHoursList.default([]),
});
export type CreateDoctorInput = z.output<typeof createDoctorSchema>;

export const updateDoctorSchema = z.strictObject({
  full_name: text().trim().min(1).max(200).optional(),
  active: z.boolean().optional(),
  specializations: specializationNames.optional().describe('replaces the whole list'),
  working_hours: workingHoursList.optional().describe('replaces the whole list'),
});
export type UpdateDoctorInput = z.output<typeof updateDoctorSchema>;

/** Unknown parameters are refused: a misspelt filter must not return everything. */
export const doctorListQuerySchema = z.strictObject({
  ...paginationQuerySchema.shape,
  active: z.enum(['true', 'false']).optional(),
});

export const availabilityQuerySchema = z.strictObject({
  date: z.iso.date(),
  duration: z.coerce.number().int().min(5).max(480).default(30),
  type_id: z.uuid().optional().describe('appointment type: its buffers must be free too'),
  /** An appointment whose own time counts as free (the one a reschedule would move). */
  exclude: z.uuid().optional(),
});

export const doctorSchema = z.object({
  id: z.uuid(),
  full_name: z.string(),
  active: z.boolean(),
  specializations: z.array(z.string()),
  working_hours: z.array(z.object({ weekday: z.number().int(), start: z.string(), end: z.string() })),
});
export type Doctor = z.infer<typeof doctorSchema>;

export const slotSchema = z.object({ starts_at: z.iso.datetime(), ends_at: z.iso.datetime() });
export type Slot = z.infer<typeof slotSchema>;
export const availabilitySchema = z.object({ slots: z.array(slotSchema) });
