import { text, z } from './zod';
import { paginationQuerySchema } from './pagination-schemas';
import { ROLES, type Role } from './roles';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 1024;

export const loginSchema = z.strictObject({
  email: text().trim().min(3).max(254),
  password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
});

export const newPasswordSchema = text()
  .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
  .max(MAX_PASSWORD_LENGTH);

/** A clinician is tied to exactly one doctor; the other roles to none. */
export function doctorLinkIssue(role: Role, doctorId: string | null | undefined): string | null {
  if (role === 'clinician' && !doctorId) return 'a clinician must be linked to a doctor';
  if (role !== 'clinician' && doctorId) return 'only a clinician can be linked to a doctor';
  return null;
}

export const createUserSchema = z
  .strictObject({
    email: z.email().max(254),
    full_name: text().trim().min(1).max(200),
    role: z.enum(ROLES),
    password: newPasswordSchema,
    doctor_id: z.uuid().nullish(),
  })
  .superRefine((v, ctx) => {
    const issue = doctorLinkIssue(v.role, v.doctor_id);
    if (issue) ctx.addIssue({ code: 'custom', path: ['doctor_id'], message: issue });
  });
export type CreateUserInput = z.infer<typeof createUserSchema>;

/** PATCH /api/users/:id: role, active flag, password reset, name, doctor link. */
export const updateUserSchema = z
  .strictObject({
    full_name: text().trim().min(1).max(200).optional(),
    role: z.enum(ROLES).optional(),
    active: z.boolean().optional(),
    password: newPasswordSchema.optional(),
    doctor_id: z.uuid().nullish(),
  })
  .refine((v) => Object.keys(v).length > 0, { message: 'nothing to change' });
export type UpdateUserInput = z.infer<typeof updateUserSchema>;

/** POST /api/auth/password: a signed-in user changes their own password. */
export const changePasswordSchema = z.strictObject({
  current_password: z.string().min(1).max(MAX_PASSWORD_LENGTH),
  new_password: newPasswordSchema,
});

export const usersQuerySchema = z.strictObject({
  ...paginationQuerySchema.shape,
  role: z.enum(ROLES).optional(),
  active: z.enum(['true', 'false']).optional(),
  search: text().trim().max(200).optional(),
});
export type UsersQuery = z.infer<typeof usersQuerySchema>;

/** A user as the admin screens see it (never the password hash). */
export interface UserRecord {
  id: string;
  email: string;
  full_name: string;
  role: Role;
  doctor_id: string | null;
  active: boolean;
  password_changed_at: string;
  created_at: string;
  updated_at: string;
}
