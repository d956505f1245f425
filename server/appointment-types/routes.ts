// Appointment types: every role reads them (booking picks one); admins create and edit them.
// A type's buffers are copied onto each booking, so editing a type changes future bookings only.
import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { requireRole, requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import type { PoolClient, Queryable } from '../db/pool.js';
import { constraintName, SQLSTATE, sqlState } from '../db/sqlstate.js';
import { conflict, notFound, validationFailed } from '../http/errors.js';
import { idempotencyKeyHeader, runWrite } from '../http/idempotency.js';
import { parseInput } from '../http/validate.js';
import {
  createAppointmentTypeSchema,
  updateAppointmentTypeSchema,
  type AppointmentType,
} from '../../src/lib/shared/appointment-type-schemas.js';

const idParam = z.object({ id: z.uuid() });
function typeId(req: Request): string {
  const parsed = idParam.safeParse(req.params);
  if (!parsed.success) throw notFound('Appointment type');
  return parsed.data.id;
}

const SELECT = `SELECT t.id, t.name, t.default_duration_minutes, t.colour, t.buffer_before_minutes,
    t.buffer_after_minutes, t.active,
    ARRAY(SELECT x.doctor_id FROM appointment_type_doctors x WHERE x.type_id = t.id ORDER BY x.doctor_id) AS doctor_ids
  FROM appointment_types t`;

async function findType(db: Queryable, id: string): Promise<AppointmentType | undefined> {
  return (await db.query<AppointmentType>(`${SELECT} WHERE t.id = $1`, [id])).rows[0];
}

async function setDoctors(tx: PoolClient, id: string, doctorIds: string[]): Promise<void> {
  await tx.query('DELETE FROM appointment_type_doctors WHERE type_id = $1', [id]);
  if (!doctorIds.length) return;
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM doctors WHERE id = ANY($1::uuid[])', [doctorIds]);
  if (rows.length !== new Set(doctorIds).size) {
    throw validationFailed([{ path: 'doctor_ids', message: 'no such doctor' }]);
  }
  await tx.query(
    'INSERT INTO appointment_type_doctors (type_id, doctor_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING',
    [id, doctorIds],
  );
}

/** A taken name is a 409 naming the field. */
async function uniqueName<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation && constraintName(err) === 'appointment_types_name_key') {
      throw conflict('name_taken', 'Another appointment type has this name.', { field: 'name' });
    }
    throw err;
  }
}

export function createAppointmentTypesRouter(deps: AppDeps): Router {
  const router = Router();
  const { pool } = deps;
  router.use(requireUser);

  router.get('/', async (_req, res) => {
    const { rows } = await pool.query<AppointmentType>(`${SELECT} ORDER BY t.name, t.id`);
    res.json({ results: rows });
  });

  router.post('/', requireRole('admin'), async (req, res) => {
    const input = parseInput(createAppointmentTypeSchema, req.body);
    const id = input.id ?? randomUUID();
    await runWrite(pool, req, res, 'appointment_type.create', input.id ?? idempotencyKeyHeader(req), (tx, txid) =>
      uniqueName(async () => {
        const inserted = await tx.query(
          `INSERT INTO appointment_types (id, name, default_duration_minutes, colour, buffer_before_minutes,
             buffer_after_minutes, active) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
          [
            id,
            input.name,
            input.default_duration_minutes,
            input.colour,
            input.buffer_before_minutes,
            input.buffer_after_minutes,
            input.active,
          ],
        );
        if (inserted.rowCount === 0) throw conflict('idempotency_mismatch', 'An appointment type with this id exists.');
        await setDoctors(tx, id, input.doctor_ids);
        return {
          status: 201,
          body: { appointment_type: await findType(tx, id), txid },
          audit: { action: 'appointment_type.create', entity: 'appointment_type', entityId: id },
        };
      }),
    );
  });

  router.patch('/:id', requireRole('admin'), async (req, res) => {
    const id = typeId(req);
    const input = parseInput(updateAppointmentTypeSchema, req.body);
    await runWrite(pool, req, res, 'appointment_type.update', idempotencyKeyHeader(req), (tx, txid) =>
      uniqueName(async () => {
        const { doctor_ids: doctorIds, ...fields } = input;
        // Column names come from the schema's keys, never from the request.
        const columns = Object.keys(fields) as (keyof typeof fields)[];
        const values = columns.map((c) => fields[c]);
        const sets = columns.map((c, i) => `${c} = $${i + 2}`);
        const updated = await tx.query(
          `UPDATE appointment_types SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1`,
          [id, ...values],
        );
        if (updated.rowCount === 0) throw notFound('Appointment type');
        if (doctorIds) await setDoctors(tx, id, doctorIds);
        return {
          status: 200,
          body: { appointment_type: await findType(tx, id), txid },
          audit: {
            action: 'appointment_type.update',
            entity: 'appointment_type',
            entityId: id,
            details: { fields: Object.keys(input) },
          },
        };
      }),
    );
  });

  return router;
}
