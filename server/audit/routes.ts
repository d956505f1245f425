// GET /api/admin/audit (paginated, filtered) and GET /api/admin/audit/verify. Mounted by
// server/admin/routes.ts behind requireRole('admin').
import { Router } from 'express';
import type { AppDeps } from '../deps.js';
import { pageEnvelope } from '../http/pagination.js';
import { parseInput } from '../http/validate.js';
import { auditQuerySchema, type AuditQuery, type AuditRow } from '../../src/lib/shared/audit-schemas.js';
import { verifyAuditChain } from './verify.js';

/** The row's subject in words (admins see these names anyway); null for other entities. */
const ENTITY_ID = `CASE WHEN a.entity_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN a.entity_id::uuid END`;
const ENTITY_NAME = `CASE a.entity
    WHEN 'user' THEN (SELECT x.full_name FROM users x WHERE x.id = ${ENTITY_ID})
    WHEN 'doctor' THEN (SELECT x.full_name FROM doctors x WHERE x.id = ${ENTITY_ID})
    WHEN 'patient' THEN (SELECT x.full_name FROM patients x WHERE x.id = ${ENTITY_ID})
    WHEN 'appointment' THEN (SELECT p.full_name FROM appointments x JOIN patients p ON p.id = x.patient_id
                              WHERE x.id = ${ENTITY_ID})
  END`;

/** WHERE clause and parameters for the filters; column names are constants. */
function auditFilters(q: AuditQuery): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    clauses.push(sql.replace('?', `$${params.length}`));
  };
  if (q.actor) add('a.actor_id = ?', q.actor);
  if (q.entity) add('a.entity = ?', q.entity);
  if (q.entity_id) add('a.entity_id = ?', q.entity_id);
  if (q.action) add('a.action = ?', q.action);
  if (q.from) add('a.at >= ?', q.from);
  if (q.to) add('a.at < ?', q.to);
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export function createAuditRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const q = parseInput(auditQuerySchema, req.query);
    const { where, params } = auditFilters(q);
    const count = await deps.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log a ${where}`, params);
    const limit = params.length + 1;
    const { rows } = await deps.pool.query<AuditRow>(
      `SELECT a.id, a.actor_id, u.email AS actor_email, u.full_name AS actor_name, a.action, a.entity,
              a.entity_id, ${ENTITY_NAME} AS entity_name, a.at, a.ip, a.user_agent, a.details
         FROM audit_log a LEFT JOIN users u ON u.id = a.actor_id
         ${where}
        ORDER BY a.id DESC LIMIT $${limit} OFFSET $${limit + 1}`,
      [...params, q.page_size, (q.page - 1) * q.page_size],
    );
    res.json(pageEnvelope(req, q.page, q.page_size, count.rows[0]!.n, rows));
  });

  router.get('/verify', async (_req, res) => {
    res.json(await verifyAuditChain(deps.pool));
  });

  return router;
}
