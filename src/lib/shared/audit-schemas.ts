import { text, z } from './zod';
import { paginationQuerySchema } from './pagination-schemas';

/** `GET /api/admin/audit` filters; unknown parameters are rejected like unknown body fields. */
export const auditQuerySchema = z.strictObject({
  ...paginationQuerySchema.shape,
  actor: z.uuid().optional(),
  entity: text().trim().min(1).max(64).optional(),
  entity_id: text().trim().min(1).max(200).optional(),
  action: text().trim().min(1).max(64).optional(),
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export interface AuditRow {
  id: number;
  actor_id: string | null;
  actor_email: string | null;
  actor_name: string | null;
  action: string;
  entity: string;
  entity_id: string | null;
  /** Who or what the row is about, in words: a user's, doctor's or patient's name; an appointment's patient. */
  entity_name: string | null;
  at: string;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
}

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  first_bad_id: number | null;
}
