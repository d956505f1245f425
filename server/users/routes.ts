// /api/users: admin only. List (paginated, filters role / active / search), create, update.
import { Router } from 'express';
import { auditContext } from '../audit/log.js';
import { requireRole } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import { notFound } from '../http/errors.js';
import { pageEnvelope } from '../http/pagination.js';
import { parseInput } from '../http/validate.js';
import {
  createUserSchema,
  updateUserSchema,
  usersQuerySchema,
  type UserRecord,
  type UsersQuery,
} from '../../src/lib/shared/auth-schemas.js';
import { z } from 'zod';
import { createUser, updateUser, USER_COLUMNS } from './service.js';

const userIdSchema = z.uuid();
/** A malformed id names no user: 404, like an unknown one. */
function userIdParam(raw: string | undefined): string {
  const parsed = userIdSchema.safeParse(raw);
  if (!parsed.success) throw notFound('User');
  return parsed.data;
}

/** `%` and `_` in a search are literal characters, not patterns. */
const likePattern = (s: string) => `%${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

function userFilters(q: UsersQuery): { where: string; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (q.role) {
    params.push(q.role);
    clauses.push(`role = $${params.length}`);
  }
  if (q.active) {
    params.push(q.active === 'true');
    clauses.push(`active = $${params.length}`);
  }
  if (q.search) {
    params.push(likePattern(q.search));
    clauses.push(`(email ILIKE $${params.length} OR full_name ILIKE $${params.length})`);
  }
  return { where: clauses.length ? `WHERE ${clauses.join(' AND ')}` : '', params };
}

export function createUsersRouter(deps: AppDeps): Router {
  const router = Router();
  router.use(requireRole('admin'));

  router.get('/', async (req, res) => {
    const q = parseInput(usersQuerySchema, req.query);
    const { where, params } = userFilters(q);
    const n = params.length;
    const { rows } = await deps.pool.query<UserRecord & { total: number }>(
      `SELECT ${USER_COLUMNS}, count(*) OVER ()::int AS total FROM users ${where}
        ORDER BY lower(email), id LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, q.page_size, (q.page - 1) * q.page_size],
    );
    // Past the last page the window count is missing: count separately then.
    const count =
      rows[0]?.total ??
      (await deps.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM users ${where}`, params)).rows[0]!.n;
    const results = rows.map(({ total: _total, ...user }) => user);
    res.json(pageEnvelope(req, q.page, q.page_size, count, results));
  });

  router.post('/', async (req, res) => {
    const input = parseInput(createUserSchema, req.body);
    const user = await createUser(deps.pool, input, auditContext(req));
    res.status(201).json({ user });
  });

  router.get('/:id', async (req, res) => {
    const id = userIdParam(req.params.id);
    const { rows } = await deps.pool.query<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
    if (!rows[0]) throw notFound('User');
    res.json({ user: rows[0] });
  });

  router.patch('/:id', async (req, res) => {
    const id = userIdParam(req.params.id);
    const input = parseInput(updateUserSchema, req.body);
    const user = await updateUser(deps.pool, id, input, auditContext(req), {
      keepSessionId: id === req.user!.id ? req.sessionId : undefined,
    });
    res.json({ user });
  });

  return router;
}
