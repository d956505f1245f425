// Appointments over HTTP: parse, authorize, hand over to the service inside runWrite (one
// transaction, idempotent, audited). Reads are audited too: they return patient data.
import { Router, type Request } from 'express';
import { requireRole, requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { auditedRead } from '../http/audited-read.js';
import { countCacheOf } from '../http/count-cache.js';
import { notFound } from '../http/errors.js';
import { idempotencyKeyHeader, runWrite } from '../http/idempotency.js';
import { pageEnvelope } from '../http/pagination.js';
import { parseInput } from '../http/validate.js';
import { z } from 'zod';
import {
  appointmentListQuerySchema,
  cancelAppointmentSchema,
  createAppointmentSchema,
  rescheduleAppointmentSchema,
  statusChangeSchema,
  updateAppointmentSchema,
} from '../../src/lib/shared/appointment-schemas.js';
import { actorOf, viewerOf } from './actor.js';
import { changeStatus, softDelete, updateFields } from './changes.js';
import { withConflictDetails } from './errors.js';
import { findAppointment, listAppointmentsPage } from './queries.js';
import { bookWhenDoctorFree } from './booking-queue.js';
import { bookAppointment, rescheduleAppointment } from './service.js';

const idParam = z.object({ id: z.uuid() });
/** A malformed id can't name a row: 404, like any row the user may not see. */
function appointmentId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Appointment');
  return parsed.data.id;
}

export function createAppointmentsRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  const tz = deps.config.clinicTimeZone;
  const clock = deps.now ?? (() => new Date());
  const statusRules = () => ({ timeZone: tz, checkInEarlyMinutes: deps.config.checkInEarlyMinutes, now: clock() });
  router.use(requireUser);

  router.get('/', async (req, res) => {
    const query = parseInput(appointmentListQuerySchema, req.query);
    const { page, page_size: size, ...filters } = query;
    const actor = actorOf(req);
    const { count, results } = await auditedRead(
      pool,
      req,
      (db) => listAppointmentsPage(db, viewerOf(actor), filters, size, (page - 1) * size, countCacheOf(pool)),
      (found) => ({
        action: 'appointment.list',
        entity: 'appointment',
        details: { filters, page, page_size: size, ids: found.results.map((r) => r.id) },
      }),
    );
    res.json(pageEnvelope(req, page, size, count, results));
  });

  router.get('/:id', async (req, res) => {
    const id = appointmentId(req);
    const appointment = await auditedRead(
      pool,
      req,
      async (tx) => {
        const row = await findAppointment(tx, viewerOf(actorOf(req)), id);
        if (!row) throw notFound('Appointment');
        return row;
      },
      () => ({ action: 'appointment.read', entity: 'appointment', entityId: id }),
    );
    res.json({ appointment });
  });

  router.post('/', async (req, res) => {
    const input = parseInput(createAppointmentSchema, req.body);
    const actor = actorOf(req);
    const now = clock();
    await withConflictDetails(
      pool,
      tz,
      () =>
        bookWhenDoctorFree(
          pool,
          actor,
          input,
          (options) =>
            runWrite(pool, req, res, 'appointment.book', input.id, (tx, txid) =>
              bookAppointment(tx, txid, actor, input, tz, { ...options, now }),
            ),
          now,
        ),
      actor.doctorId,
      now,
    );
  });

  router.post('/:id/reschedule', async (req, res) => {
    const id = appointmentId(req);
    const input = parseInput(rescheduleAppointmentSchema, req.body);
    const actor = actorOf(req);
    const now = clock();
    await withConflictDetails(
      pool,
      tz,
      () =>
        runWrite(pool, req, res, 'appointment.reschedule', input.new_id, (tx, txid) =>
          rescheduleAppointment(tx, txid, actor, id, input, tz, { now }),
        ),
      actor.doctorId,
      now,
      { movingId: id },
    );
  });

  router.post('/:id/cancel', async (req, res) => {
    const id = appointmentId(req);
    const key = idempotencyKeyHeader(req);
    const input = parseInput(cancelAppointmentSchema, req.body ?? {});
    const actor = actorOf(req);
    await runWrite(pool, req, res, 'appointment.cancel', key, (tx, txid) =>
      changeStatus(tx, txid, actor, id, 'cancelled', { reason: input.reason, rules: statusRules() }),
    );
  });

  router.post('/:id/status', async (req, res) => {
    const id = appointmentId(req);
    const key = idempotencyKeyHeader(req);
    const input = parseInput(statusChangeSchema, req.body);
    const actor = actorOf(req);
    await runWrite(pool, req, res, 'appointment.status', key, (tx, txid) =>
      changeStatus(tx, txid, actor, id, input.status, { version: input.version, rules: statusRules() }),
    );
  });

  router.patch('/:id', async (req, res) => {
    const id = appointmentId(req);
    const key = idempotencyKeyHeader(req);
    const input = parseInput(updateAppointmentSchema, req.body);
    const actor = actorOf(req);
    await runWrite(pool, req, res, 'appointment.update', key, (tx, txid) =>
      updateFields(tx, txid, actor, id, input, tz),
    );
  });

  router.delete('/:id', requireRole('admin'), async (req, res) => {
    const id = appointmentId(req);
    const key = idempotencyKeyHeader(req);
    const actor = actorOf(req);
    await runWrite(pool, req, res, 'appointment.delete', key, (tx, txid) => softDelete(tx, txid, actor, id));
  });

  return router;
}
