// Recurring series over HTTP: one request books, edits or cancels many occurrences in one
// transaction (server/series/service.ts), idempotent and audited like a single booking.
import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { auditedRead } from '../http/audited-read.js';
import { forbidden, notFound } from '../http/errors.js';
import { idempotencyKeyHeader, runWrite } from '../http/idempotency.js';
import { parseInput } from '../http/validate.js';
import { actorOf } from '../appointments/actor.js';
import { cancelSeriesSchema, createSeriesSchema, editSeriesSchema } from '../../src/lib/shared/series.js';
import { bookSeries, cancelSeries, editSeries, readSeries, seriesConflict, SeriesRefusedError } from './service.js';

const idParam = z.object({ id: z.uuid() });
function seriesId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Series');
  return parsed.data.id;
}

/** A refused all-or-none request becomes its 409 with the per-occurrence list. */
async function answeringRefusals(write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (err instanceof SeriesRefusedError) throw seriesConflict(err.occurrences);
    throw err;
  }
}

export function createSeriesRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  const tz = deps.config.clinicTimeZone;
  router.use(requireUser);

  router.post('/', async (req, res) => {
    const input = parseInput(createSeriesSchema, req.body);
    const actor = actorOf(req);
    if (actor.doctorId && actor.doctorId !== input.doctor_id)
      throw forbidden('Clinicians book only for their own doctor.');
    await answeringRefusals(() =>
      runWrite(pool, req, res, 'series.book', input.id, (tx, txid) => bookSeries(tx, txid, actor, input, tz)),
    );
  });

  router.get('/:id', async (req, res) => {
    const id = seriesId(req);
    const actor = actorOf(req);
    const answer = await auditedRead(
      pool,
      req,
      (tx) => readSeries(tx, actor, id),
      (found) => ({
        action: 'series.read',
        entity: 'appointment_series',
        entityId: id,
        details: { ids: found.appointments.map((a) => a!.id) },
      }),
    );
    res.json(answer);
  });

  router.post('/:id/cancel', async (req, res) => {
    const id = seriesId(req);
    const key = idempotencyKeyHeader(req);
    const input = parseInput(cancelSeriesSchema, req.body ?? {});
    const actor = actorOf(req);
    await answeringRefusals(() =>
      runWrite(pool, req, res, 'series.cancel', key, (tx, txid) => cancelSeries(tx, txid, actor, id, input)),
    );
  });

  router.post('/:id/edit', async (req, res) => {
    const id = seriesId(req);
    const key = idempotencyKeyHeader(req);
    const input = parseInput(editSeriesSchema, req.body ?? {});
    const actor = actorOf(req);
    await answeringRefusals(() =>
      runWrite(pool, req, res, 'series.edit', key, (tx, txid) =>
        editSeries(tx, txid, actor, id, input, tz, key ?? randomUUID()),
      ),
    );
  });

  return router;
}
