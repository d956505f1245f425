// Reminders over HTTP. Staff: an appointment's reminders. Anyone holding a signed link:
// unsubscribe (no login: a patient has none). Admin (mounted under /api/admin/reminders):
// the policy, outgoing messages with filters, resend of a failed one, the outbox files.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import express, { Router, type Request } from 'express';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.js';
import { appendAudit, auditContext } from '../audit/log.js';
import type { AppDeps } from '../deps.js';
import { withTransaction } from '../db/transaction.js';
import { conflict, notFound } from '../http/errors.js';
import { pageEnvelope } from '../http/pagination.js';
import { parseInput } from '../http/validate.js';
import { setReminderBacklogReader } from '../observability/metrics.js';
import { actorOf } from '../appointments/actor.js';
import { appointmentRemindersQuerySchema, outgoingListQuerySchema } from '../../src/lib/shared/reminder-schemas.js';
import { enqueueReminder } from './enqueue.js';
import { linkKey, loadPolicy, reminderPolicySchema, savePolicy } from './policy.js';
import { readUnsubscribeToken } from './tokens.js';
import { mailOutboxDir, smsOutboxDir } from './transports.js';

const DETAIL = `r.id, r.appointment_id, r.channel, r.kind, r.status, iso_utc(r.send_at) AS send_at,
  iso_utc(r.sent_at) AS sent_at, r.attempts, r.last_error, r.message_id, r.outbox_file`;

const idParam = z.object({ id: z.uuid() });
const reminderId = (req: Request) => {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Reminder');
  return parsed.data.id;
};

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(title)}</title></head><body><main><h1>${escapeHtml(title)}</h1>${body}</main></body></html>`;
}

/** Mounted at /api/reminders. */
export function createRemindersRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  setReminderBacklogReader(async () => {
    const { rows } = await pool.query<{ late: number; review: number }>(
      `SELECT count(*) FILTER (WHERE status = 'pending' AND send_at < now() - interval '60 seconds')::int AS late,
              count(*) FILTER (WHERE status = 'review')::int AS review
         FROM reminders WHERE status IN ('pending', 'review')`,
    );
    return { dueLate: rows[0]!.late, review: rows[0]!.review };
  });

  // GET shows a confirmation page, POST (from that page's form) opts out: a mail scanner that
  // follows links must not unsubscribe anyone.
  router.get('/unsubscribe', async (req, res) => {
    const token = typeof req.query.token === 'string' ? req.query.token : '';
    const found = token ? readUnsubscribeToken(await linkKey(pool), token) : null;
    res.set('Cache-Control', 'no-store');
    if (!found) {
      res
        .status(400)
        .type('html')
        .send(page('Link not valid', '<p>This unsubscribe link is not valid. Please contact the clinic.</p>'));
      return;
    }
    const what = found.channel === 'sms' ? 'text message' : found.channel === 'all' ? 'email and text' : 'email';
    res.type('html').send(
      page(
        'Stop appointment reminders',
        `<p>Stop ${what} reminders about your appointments?</p>
<form method="post" action="/api/reminders/unsubscribe"><input type="hidden" name="token" value="${escapeHtml(token)}">
<button type="submit">Stop ${what} reminders</button></form>`,
      ),
    );
  });

  router.post('/unsubscribe', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res) => {
    const { token } = parseInput(z.object({ token: z.string().min(1).max(500) }), req.body);
    const found = readUnsubscribeToken(await linkKey(pool), token);
    if (!found) {
      res
        .status(400)
        .type('html')
        .send(page('Link not valid', '<p>This unsubscribe link is not valid. Please contact the clinic.</p>'));
      return;
    }
    const email = found.channel !== 'sms';
    const sms = found.channel !== 'email';
    await withTransaction(pool, async (tx) => {
      await tx.query(
        `INSERT INTO patient_contact_preferences (patient_id, email_opt_out, sms_opt_out, updated_via)
         SELECT id, $2, $3, 'link' FROM patients WHERE id = $1
         ON CONFLICT (patient_id) DO UPDATE SET email_opt_out = patient_contact_preferences.email_opt_out OR $2,
           sms_opt_out = patient_contact_preferences.sms_opt_out OR $3, updated_via = 'link', updated_at = now()`,
        [found.patientId, email, sms],
      );
      await appendAudit(tx, {
        ...auditContext(req),
        action: 'reminders.opt_out',
        entity: 'patient',
        entityId: found.patientId,
        details: { channel: found.channel, via: 'link' },
      });
    });
    res
      .type('html')
      .send(
        page(
          'Reminders stopped',
          '<p>You will no longer get these reminders. You can ask the clinic to turn them back on.</p>',
        ),
      );
  });

  router.get('/', requireUser, async (req, res) => {
    const { appointment_id } = parseInput(appointmentRemindersQuerySchema, req.query);
    const actor = actorOf(req);
    // A clinician sees only their own doctor's appointments (404 otherwise, like the appointment).
    const { rows: appt } = await pool.query(`SELECT doctor_id FROM appointments WHERE id = $1 AND deleted_at IS NULL`, [
      appointment_id,
    ]);
    if (!appt[0] || (actor.doctorId && appt[0].doctor_id !== actor.doctorId)) throw notFound('Appointment');
    const { rows } = await pool.query(
      `SELECT ${DETAIL} FROM reminders r WHERE r.appointment_id = $1 ORDER BY r.send_at, r.id`,
      [appointment_id],
    );
    res.json({ reminders: rows });
  });

  return router;
}

/** Mounted at /api/admin/reminders behind requireRole('admin'). */
export function createRemindersAdminRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;

  router.get('/policy', async (_req, res) => {
    res.json({ policy: await loadPolicy(pool) });
  });

  router.put('/policy', async (req, res) => {
    const input = parseInput(reminderPolicySchema, req.body);
    const policy = await withTransaction(pool, async (tx) => {
      const saved = await savePolicy(tx, input, req.user!.id);
      await appendAudit(tx, {
        ...auditContext(req),
        action: 'reminders.policy',
        entity: 'reminder_policy',
        details: { rules: input.rules },
      });
      return saved;
    });
    res.json({ policy });
  });

  router.get('/messages', async (req, res) => {
    const q = parseInput(outgoingListQuerySchema, req.query);
    const where: string[] = [];
    const params: unknown[] = [];
    for (const key of ['status', 'channel', 'kind'] as const) {
      if (q[key]) {
        params.push(q[key]);
        where.push(`r.${key} = $${params.length}`);
      }
    }
    const filter = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const { rows: count } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM reminders r ${filter}`,
      params,
    );
    params.push(q.page_size, (q.page - 1) * q.page_size);
    const { rows } = await pool.query(
      `SELECT ${DETAIL}, r.recipient, iso_utc(a.starts_at) AS starts_at, d.full_name AS doctor_name
         FROM reminders r JOIN appointments a ON a.id = r.appointment_id JOIN doctors d ON d.id = a.doctor_id
         ${filter} ORDER BY r.send_at DESC, r.id LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    res.json(pageEnvelope(req, q.page, q.page_size, count[0]!.n, rows));
  });

  // Resend: only a failed message, or one in review after a person decided it did not arrive.
  // It keeps its Message-ID, so a receiving server can still drop a duplicate.
  router.post('/messages/:id/resend', async (req, res) => {
    const id = reminderId(req);
    const row = await withTransaction(pool, async (tx) => {
      const { rows } = await tx.query(
        `UPDATE reminders SET status = 'pending', send_at = now(), last_error = NULL, updated_at = now()
          WHERE id = $1 AND status IN ('failed', 'review') RETURNING id, status`,
        [id],
      );
      if (!rows[0]) {
        const { rows: existing } = await tx.query(`SELECT status FROM reminders WHERE id = $1`, [id]);
        if (!existing[0]) throw notFound('Reminder');
        throw conflict('invalid_transition', `A ${existing[0].status} message can't be resent.`, {
          status: existing[0].status,
        });
      }
      await enqueueReminder(tx, id, new Date());
      await appendAudit(tx, { ...auditContext(req), action: 'reminders.resend', entity: 'reminder', entityId: id });
      const { rows: detail } = await tx.query(`SELECT ${DETAIL} FROM reminders r WHERE r.id = $1`, [id]);
      return detail[0];
    });
    res.json({ reminder: row });
  });

  // The written message, as it would have gone out (only without a real provider).
  router.get('/messages/:id/outbox-file', async (req, res) => {
    const id = reminderId(req);
    const { rows } = await pool.query<{ channel: string; outbox_file: string | null }>(
      `SELECT channel, outbox_file FROM reminders WHERE id = $1`,
      [id],
    );
    const file = rows[0]?.outbox_file;
    if (!file || path.basename(file) !== file) throw notFound('Outbox file');
    const dir = rows[0]!.channel === 'email' ? mailOutboxDir(deps.config) : smsOutboxDir(deps.config);
    const content = await readFile(path.join(dir, file)).catch(() => null);
    if (!content) throw notFound('Outbox file');
    res.type(rows[0]!.channel === 'email' ? 'message/rfc822' : 'application/json').send(content);
  });

  return router;
}
