// The waitlist over HTTP. The front desk (admin, receptionist) adds, books and removes
// entries; clinicians read their own doctor's. Every write is idempotent and audited.
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireRole, requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { auditedRead } from '../http/audited-read.js';
import { notFound } from '../http/errors.js';
import { idempotencyKeyHeader, runWrite } from '../http/idempotency.js';
import { parseInput } from '../http/validate.js';
import { actorOf } from '../appointments/actor.js';
import { withConflictDetails } from '../appointments/errors.js';
import {
  bookWaitlistOfferSchema,
  createWaitlistEntrySchema,
  removeWaitlistEntrySchema,
} from '../../src/lib/shared/waitlist-schemas.js';
import { listWaiting } from './queries.js';
import { addEntry, bookOffer, removeEntry } from './service.js';

const idParam = z.object({ id: z.uuid() });
function entryId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Waitlist entry');
  return parsed.data.id;
}

export function createWaitlistRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  const tz = deps.config.clinicTimeZone;
  router.use(requireUser);

  router.get('/', async (req, res) => {
    const actor = actorOf(req);
    const entries = await auditedRead(
      pool,
      req,
      (tx) => listWaiting(tx, actor.doctorId),
      (found) => ({ action: 'waitlist.list', entity: 'waitlist_entry', details: { ids: found.map((e) => e.id) } }),
    );
    res.json({ entries });
  });

  router.post('/', requireRole('admin', 'receptionist'), async (req, res) => {
    const input = parseInput(createWaitlistEntrySchema, req.body);
    const actor = actorOf(req);
    await runWrite(pool, req, res, 'waitlist.add', input.id, (tx, txid) => addEntry(tx, txid, actor, input, tz));
  });

  router.post('/:id/book', requireRole('admin', 'receptionist'), async (req, res) => {
    const id = entryId(req);
    const input = parseInput(bookWaitlistOfferSchema, req.body);
    const actor = actorOf(req);
    await withConflictDetails(pool, tz, () =>
      runWrite(pool, req, res, 'waitlist.book', input.appointment_id, (tx, txid) =>
        bookOffer(tx, txid, actor, id, input, tz),
      ),
    );
  });

  router.post('/:id/remove', requireRole('admin', 'receptionist'), async (req, res) => {
    const id = entryId(req);
    const key = idempotencyKeyHeader(req);
    const input = parseInput(removeWaitlistEntrySchema, req.body ?? {});
    await runWrite(pool, req, res, 'waitlist.remove', key, (tx, txid) =>
      removeEntry(tx, txid, id, input.reason ?? null),
    );
  });

  return router;
}
