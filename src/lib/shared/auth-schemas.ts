import { z } from 'zod';
import { ROLES } from './roles';

export const MIN_PASSWORD_LENGTH = 12;

export const loginSchema = z.strictObject({
  email: z.string().trim().min(3).max(254),
  password: z.string().min(1).max(1024),
});

export const newPasswordSchema = z
  .string()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(1024);

export const createUserSchema = z.strictObject({
  email: z.email().max(254),
  full_name: z.string().trim().min(1).max(200),
  role: z.enum(ROLES),
  password: newPasswordSchema,
  doctor_id: z.uuid().nullish(),
});

export const updateUserSchema = z.strictObject({
  full_name: z.string().trim().min(1).max(200).optional(),
  role: z.enum(ROLES).optional(),
  active: z.boolean().optional(),
  password: newPasswordSchema.optional(),
  doctor_id: z.uuid().nullish(),
});
