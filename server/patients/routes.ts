// Patients: search and read (audited: who saw which patient), create and edit.
import { randomBytes, randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireRole, requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { constraintName, SQLSTATE, sqlState } from '../db/sqlstate.js';
import { auditedRead } from '../http/audited-read.js';
import { conflict, notFound } from '../http/errors.js';
import { idempotencyKeyHeader, idempotencyMismatch, runWrite } from '../http/idempotency.js';
import { pageEnvelope } from '../http/pagination.js';
import { parseInput } from '../http/validate.js';
import {
  createPatientSchema,
  patientListQuerySchema,
  updatePatientSchema,
} from '../../src/lib/shared/patient-schemas.js';
import { findPatient, insertPatient, listPatientsPage, updatePatient } from './queries.js';

const idParam = z.object({ id: z.uuid() });
function patientId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Patient');
  return parsed.data.id;
}

/** Clinicians are scoped to their doctor's patients; other roles see all. */
const scopeOf = (req: Request) => (req.user?.role === 'clinician' ? req.user.doctor_id : null);

/** A readable, unique-enough MRN when the caller has none (the unique index has the last word). */
const generatedMrn = () => `MRN-${randomBytes(5).toString('hex').toUpperCase()}`;

/** A second patient with the same MRN is refused by name, not as a 500. */
async function mrnChecked<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation && constraintName(err) === 'patients_mrn_key') {
      throw conflict('mrn_taken', 'Another patient already has this MRN.');
    }
    throw err;
  }
}

export function createPatientsRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  router.use(requireUser);
  const editors = requireRole('admin', 'receptionist');

  router.get('/', async (req, res) => {
    const { page, page_size: size, search } = parseInput(patientListQuerySchema, req.query);
    const found = await auditedRead(
      pool,
      req,
      (tx) => listPatientsPage(tx, scopeOf(req), search || undefined, size, (page - 1) * size),
      (result) => ({
        action: 'patient.list',
        entity: 'patient',
        details: { search: search ?? null, ids: result.results.map((p) => p.id) },
      }),
    );
    res.json(pageEnvelope(req, page, size, found.count, found.results));
  });

  router.get('/:id', async (req, res) => {
    const id = patientId(req);
    const patient = await auditedRead(
      pool,
      req,
      async (tx) => {
        const row = await findPatient(tx, scopeOf(req), id);
        if (!row) throw notFound('Patient');
        return row;
      },
      () => ({ action: 'patient.read', entity: 'patient', entityId: id }),
    );
    res.json({ patient });
  });

  router.post('/', editors, async (req, res) => {
    const input = parseInput(createPatientSchema, req.body);
    const id = input.id ?? randomUUID();
    await mrnChecked(() =>
      runWrite(pool, req, res, 'patient.create', input.id ?? idempotencyKeyHeader(req), async (tx, txid) => {
        if (!(await insertPatient(tx, id, { ...input, mrn: input.mrn ?? generatedMrn() }))) throw idempotencyMismatch();
        return {
          status: 201,
          body: { patient: await findPatient(tx, null, id), txid },
          audit: { action: 'patient.create', entity: 'patient', entityId: id },
        };
      }),
    );
  });

  router.patch('/:id', editors, async (req, res) => {
    const id = patientId(req);
    const input = parseInput(updatePatientSchema, req.body);
    await mrnChecked(() =>
      runWrite(pool, req, res, 'patient.update', idempotencyKeyHeader(req), async (tx, txid) => {
        if (!(await updatePatient(tx, id, input))) throw notFound('Patient');
        return {
          status: 200,
          body: { patient: await findPatient(tx, null, id), txid },
          audit: { action: 'patient.update', entity: 'patient', entityId: id, details: { fields: Object.keys(input) } },
        };
      }),
    );
  });

  return router;
}
