// The waitlist's request and answer shapes, shared by the server (validation, OpenAPI) and
// the device (the Waitlist screen checks its form with them before asking the server).
import { z } from './zod';
import { URGENCIES } from './appointment-schemas';

export const TIMES_OF_DAY = ['any', 'morning', 'afternoon', 'evening'] as const;
export type TimeOfDay = (typeof TIMES_OF_DAY)[number];
/** Clinic wall-clock bounds of each preference (start time of the slot), as the server's trigger reads them. */
export const TIME_OF_DAY_HOURS: Record<TimeOfDay, [string, string]> = {
  any: ['00:00', '24:00'],
  morning: ['00:00', '12:00'],
  afternoon: ['12:00', '17:00'],
  evening: ['17:00', '24:00'],
};

const date = z.iso
  .date()
  .refine((d) => d >= '2000-01-01' && d < '2200-01-01', 'must be a date between 2000 and 2200')
  .describe('a clinic date, YYYY-MM-DD');

export const createWaitlistEntrySchema = z
  .strictObject({
    id: z.uuid().describe('chosen by the client; also the idempotency key'),
    patient_id: z.uuid(),
    doctor_id: z.uuid().optional().describe('this doctor, or …'),
    specialization_id: z.uuid().optional().describe('… any doctor of this specialization (exactly one of the two)'),
    earliest_date: date,
    latest_date: date,
    time_of_day: z.enum(TIMES_OF_DAY).default('any'),
    urgency: z.enum(URGENCIES).default('routine'),
    duration_minutes: z.number().int().min(5).max(480),
    note: z.string().max(2000).nullish(),
  })
  .refine((v) => (v.doctor_id === undefined) !== (v.specialization_id === undefined), {
    message: 'give exactly one of doctor_id or specialization_id',
    path: ['doctor_id'],
  })
  .refine((v) => v.earliest_date <= v.latest_date, {
    message: 'must not be before earliest_date',
    path: ['latest_date'],
  });
export type CreateWaitlistEntryInput = z.output<typeof createWaitlistEntrySchema>;

export const bookWaitlistOfferSchema = z.strictObject({
  appointment_id: z.uuid().describe('id of the new appointment; also the idempotency key'),
  doctor_id: z.uuid(),
  starts_at: z.iso.datetime({ offset: true }),
});
export type BookWaitlistOfferInput = z.output<typeof bookWaitlistOfferSchema>;

export const removeWaitlistEntrySchema = z.strictObject({ reason: z.string().max(2000).nullish() });

export const waitlistOfferSchema = z.object({
  doctor_id: z.uuid(),
  starts_at: z.iso.datetime(),
  ends_at: z.iso.datetime(),
  freed_at: z.iso.datetime(),
});
export type WaitlistOffer = z.infer<typeof waitlistOfferSchema>;

export const waitlistEntrySchema = z.object({
  id: z.uuid(),
  patient_id: z.uuid(),
  doctor_id: z.uuid().nullable(),
  specialization_id: z.uuid().nullable(),
  earliest_date: z.string(),
  latest_date: z.string(),
  time_of_day: z.enum(TIMES_OF_DAY),
  urgency: z.enum(URGENCIES),
  duration_minutes: z.number().int(),
  note: z.string().nullable(),
  status: z.enum(['waiting', 'booked', 'removed']),
  offers: z.array(waitlistOfferSchema).describe('freed slots that match and are still free, oldest first'),
  booked_appointment_id: z.uuid().nullable(),
  created_at: z.iso.datetime(),
  patient: z.object({ id: z.uuid(), full_name: z.string(), mrn: z.string() }),
});

export const waitlistListSchema = z.object({
  entries: z.array(waitlistEntrySchema).describe('waiting entries, most urgent first, then oldest first'),
});
export const waitlistWriteResultSchema = z.object({ entry: waitlistEntrySchema, txid: z.number().int() });

/** The order of the Waitlist screen: urgency first, then the longest waiting. */
export const URGENCY_RANK: Record<string, number> = { emergency: 0, urgent: 1, routine: 2 };
