// A patient's reminder channels, for staff: read them (every staff role, clinicians for their
// doctor's patients) and set them (reception and admin). Patients turn channels off themselves
// with the unsubscribe link (routes.ts); staff can turn them back on, e.g. when asked by phone.
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireRole, requireUser } from '../auth/middleware.js';
import { appendAudit, auditContext } from '../audit/log.js';
import type { PoolClient } from '../db/pool.js';
import type { AppDeps } from '../deps.js';
import { withTransaction } from '../db/transaction.js';
import { auditedRead } from '../http/audited-read.js';
import { notFound } from '../http/errors.js';
import { parseInput } from '../http/validate.js';
import { findPatient } from '../patients/queries.js';
import { contactPreferencesInputSchema, type ContactPreferences } from '../../src/lib/shared/reminder-schemas.js';
import { resumeChannel, stopChannel } from './hooks.js';

const idParam = z.object({ id: z.uuid() });
function patientId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Patient');
  return parsed.data.id;
}

async function readPreferences(tx: PoolClient, scope: string | null, id: string): Promise<ContactPreferences> {
  // findPatient applies the clinician's scope: another doctor's patient is not found.
  if (!(await findPatient(tx, scope, id))) throw notFound('Patient');
  const { rows } = await tx.query<ContactPreferences>(
    `SELECT coalesce(cp.email_opt_out, false) AS email_opt_out, coalesce(cp.sms_opt_out, false) AS sms_opt_out,
            cp.updated_via, iso_utc(cp.updated_at) AS updated_at,
            coalesce(p.email, '') <> '' AS has_email, coalesce(p.phone, '') <> '' AS has_phone
       FROM patients p LEFT JOIN patient_contact_preferences cp ON cp.patient_id = p.id
      WHERE p.id = $1`,
    [id],
  );
  return rows[0]!;
}

/** Mounted at /api/patients/:id/contact-preferences. */
export function createContactPreferencesRouter(deps: AppDeps): Router {
  const router = Router({ mergeParams: true });
  const { pool } = deps;
  router.use(requireUser);
  const scopeOf = (req: Request) => (req.user?.role === 'clinician' ? req.user.doctor_id : null);

  router.get('/', async (req, res) => {
    const id = patientId(req);
    const preferences = await auditedRead(
      pool,
      req,
      (tx) => readPreferences(tx, scopeOf(req), id),
      () => ({ action: 'reminders.preferences_read', entity: 'patient', entityId: id }),
    );
    res.set('Cache-Control', 'no-store').json({ preferences });
  });

  router.put('/', requireRole('admin', 'receptionist'), async (req, res) => {
    const id = patientId(req);
    const input = parseInput(contactPreferencesInputSchema, req.body);
    const preferences = await withTransaction(pool, async (tx) => {
      // The patient row is locked so that two staff edits (or an edit and a link) apply in turn.
      const { rowCount } = await tx.query(`SELECT 1 FROM patients WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, [
        id,
      ]);
      if (!rowCount) throw notFound('Patient');
      const before = await readPreferences(tx, null, id);
      await tx.query(
        `INSERT INTO patient_contact_preferences (patient_id, email_opt_out, sms_opt_out, updated_via)
         VALUES ($1, $2, $3, 'staff')
         ON CONFLICT (patient_id) DO UPDATE SET email_opt_out = $2, sms_opt_out = $3, updated_via = 'staff', updated_at = now()`,
        [id, input.email_opt_out, input.sms_opt_out],
      );
      const effects: Record<string, number> = {};
      for (const channel of ['email', 'sms'] as const) {
        const wasOut = before[`${channel}_opt_out`];
        const isOut = input[`${channel}_opt_out`];
        if (isOut && !wasOut) effects[`${channel}_cancelled`] = await stopChannel(tx, id, channel);
        if (!isOut && wasOut) {
          effects[`${channel}_planned`] = await resumeChannel(tx, id, channel, deps.config.clinicTimeZone);
        }
      }
      await appendAudit(tx, {
        ...auditContext(req),
        action: 'reminders.preferences',
        entity: 'patient',
        entityId: id,
        details: {
          before: { email_opt_out: before.email_opt_out, sms_opt_out: before.sms_opt_out },
          after: input,
          ...effects,
        },
      });
      return readPreferences(tx, null, id);
    });
    res.json({ preferences });
  });

  return router;
}
