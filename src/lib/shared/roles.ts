export const ROLES = ['admin', 'receptionist', 'clinician'] as const;
export type Role = (typeof ROLES)[number];

export interface SessionUser {
  id: string;
  email: string;
  full_name: string;
  role: Role;
  doctor_id: string | null;
}
