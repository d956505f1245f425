import { text, z } from './zod';
import { paginationQuerySchema } from './pagination-schemas';

const mrn = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9-]{1,32}$/, 'letters, digits and - only, at most 32');
const dateOfBirth = z.iso
  .date()
  .refine((d) => d >= '1900-01-01' && d <= '2200-01-01', 'must be between 1900-01-01 and 2200-01-01');
const phone = text().trim().min(1).max(40);
const email = z.email().max(254);

export const createPatientSchema = z.strictObject({
  id: z.uuid().optional().describe('client-chosen id; also the idempotency key'),
  full_name: text().trim().min(1).max(200),
  date_of_birth: dateOfBirth,
  mrn: mrn.optional().describe('generated when absent'),
  phone: phone.nullish(),
  email: email.nullish(),
});
export type CreatePatientInput = z.output<typeof createPatientSchema>;

export const updatePatientSchema = z.strictObject({
  full_name: text().trim().min(1).max(200).optional(),
  date_of_birth: dateOfBirth.optional(),
  mrn: mrn.optional(),
  phone: phone.nullish(),
  email: email.nullish(),
});
export type UpdatePatientInput = z.output<typeof updatePatientSchema>;

/** Unknown parameters are refused: a misspelt filter must not return everything. */
export const patientListQuerySchema = z.strictObject({
  ...paginationQuerySchema.shape,
  search: text().trim().max(100).optional().describe('matches name, MRN or phone (substring)'),
});

export const patientSchema = z.object({
  id: z.uuid(),
  full_name: z.string(),
  date_of_birth: z.iso.date(),
  mrn: z.string(),
  phone: z.string().nullable(),
  email: z.string().nullable(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export type Patient = z.infer<typeof patientSchema>;
