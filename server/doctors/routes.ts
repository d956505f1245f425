// Doctors: the list every role books from, admin edits, and free slots for a day.
import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireRole, requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { conflict, notFound } from '../http/errors.js';
import { idempotencyKeyHeader, runWrite } from '../http/idempotency.js';
import { pageEnvelope } from '../http/pagination.js';
import { parseInput } from '../http/validate.js';
import {
  availabilityQuerySchema,
  createDoctorSchema,
  doctorListQuerySchema,
  updateDoctorSchema,
} from '../../src/lib/shared/doctor-schemas.js';
import { clinicDayRange } from '../../src/lib/shared/time.js';
import { doctorBusy, doctorHours } from '../appointments/queries.js';
import { typeBuffers } from '../appointments/service.js';
import { freeSlotsOn } from '../appointments/schedule.js';
import {
  findDoctor,
  insertDoctor,
  listDoctorsPage,
  setSpecializations,
  setWorkingHours,
  updateDoctorRow,
} from './queries.js';

const idParam = z.object({ id: z.uuid() });
function doctorId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Doctor');
  return parsed.data.id;
}

export function createDoctorsRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  const tz = deps.config.clinicTimeZone;
  router.use(requireUser);

  router.get('/', async (req, res) => {
    const { page, page_size: size, active } = parseInput(doctorListQuerySchema, req.query);
    const { count, results } = await listDoctorsPage(
      pool,
      active === undefined ? undefined : active === 'true',
      size,
      (page - 1) * size,
    );
    res.json(pageEnvelope(req, page, size, count, results));
  });

  router.get('/:id', async (req, res) => {
    const doctor = await findDoctor(pool, doctorId(req));
    if (!doctor) throw notFound('Doctor');
    res.json({ doctor });
  });

  router.get('/:id/availability', async (req, res) => {
    const id = doctorId(req);
    const { date, duration, type_id, exclude } = parseInput(availabilityQuerySchema, req.query);
    if (!(await findDoctor(pool, id))) throw notFound('Doctor');
    const day = clinicDayRange(date, tz);
    const [hours, busy, buffers] = await Promise.all([
      doctorHours(pool, id),
      doctorBusy(pool, id, day.from, day.to),
      typeBuffers(pool, type_id, id),
    ]);
    // Slots already in the past are not offered; a type's buffers must be free too; the
    // excluded appointment (the one a reschedule would move) leaves its own time free.
    const others = busy.filter((b) => b.id !== exclude);
    const slots = freeSlotsOn(date, duration, hours, others, tz, deps.now?.() ?? new Date(), buffers);
    res.json({ slots: slots.map((s) => ({ starts_at: s.starts_at.toISOString(), ends_at: s.ends_at.toISOString() })) });
  });

  router.post('/', requireRole('admin'), async (req, res) => {
    const input = parseInput(createDoctorSchema, req.body);
    const id = input.id ?? randomUUID();
    await runWrite(pool, req, res, 'doctor.create', input.id ?? idempotencyKeyHeader(req), async (tx, txid) => {
      if (!(await insertDoctor(tx, id, input.full_name, input.active ?? true))) {
        throw conflict('idempotency_mismatch', 'A doctor with this id already exists.');
      }
      await setSpecializations(tx, id, input.specializations);
      await setWorkingHours(tx, id, input.working_hours);
      return {
        status: 201,
        body: { doctor: await findDoctor(tx, id), txid },
        audit: { action: 'doctor.create', entity: 'doctor', entityId: id },
      };
    });
  });

  router.patch('/:id', requireRole('admin'), async (req, res) => {
    const id = doctorId(req);
    const input = parseInput(updateDoctorSchema, req.body);
    await runWrite(pool, req, res, 'doctor.update', idempotencyKeyHeader(req), async (tx, txid) => {
      if (!(await updateDoctorRow(tx, id, input.full_name, input.active))) throw notFound('Doctor');
      if (input.specializations) await setSpecializations(tx, id, input.specializations);
      if (input.working_hours) await setWorkingHours(tx, id, input.working_hours);
      return {
        status: 200,
        body: { doctor: await findDoctor(tx, id), txid },
        audit: { action: 'doctor.update', entity: 'doctor', entityId: id, details: { fields: Object.keys(input) } },
      };
    });
  });

  return router;
}
