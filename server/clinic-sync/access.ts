// Who may sync what in the clinic app: a session for every shape request, the admin role to
// drop shapes, the role's shape (shape-rules.ts), patient data audited and never cached, the
// other tables private to the session, per-user limits on client-narrowed shapes, and live
// requests ended with their session (session-ends.ts). The engine gets all of it as one
// ShapeAccess (server/sync/access.ts).
import type { Request } from 'express';
import { GroupAuditWriter } from '../audit/group-writer.js';
import { auditContext } from '../audit/log.js';
import { requireRole, requireUser } from '../auth/middleware.js';
import type { AppDeps } from '../deps.js';
import type { ShapeAccess, ShapeAuditor } from '../sync/access.js';
import type { SubsetParams } from '../sync/protocol.js';
import type { ShapeDef } from '../sync/shape-def.js';
import { sessionRequests } from './session-ends.js';
import { buildUserShape, SYNCED_TABLES } from './shape-rules.js';

/** The tables the app serves, as the engine names them. */
export const CLINIC_TABLES: readonly string[] = SYNCED_TABLES.map((t) => `public.${t}`);

/** Tables whose rows are patient data: every answer is audited and none is cached. */
const PATIENT_DATA = new Set(['patients', 'appointments']);

export function clinicShapeAccess(deps: Pick<AppDeps, 'config' | 'pool'>): ShapeAccess {
  const { perUser, perTable, idleMinutes } = deps.config.syncClientShapes;
  const isPatientData = (def: ShapeDef) => def.schema === 'public' && PATIENT_DATA.has(def.table);
  // The answers of one wake-up (every live client of a shape) share one audit commit.
  const audit = new GroupAuditWriter(deps.pool);
  return {
    reader: requireUser,
    admin: requireRole('admin'),
    authorize: (req, r, info) => buildUserShape(req.user!, info, r.client, deps.config.clinicTimeZone),
    vary: 'Cookie',
    // Patient data never stays in the browser's HTTP cache (a shared tablet after logout);
    // the rest is private to the session (Vary: Cookie).
    cache: (def) => (isPatientData(def) ? 'no-store' : 'private'),
    // Every answer that carries patient rows is audited, one row per response, whatever its
    // offset (a resumed read with a learned handle streams as much as a fresh one).
    // A subset snapshot of appointments may reach the visits before the window (a patient's
    // earlier history on the patient page), within every other rule of the role.
    subsetScope: (req, r, info) =>
      info.schema === 'public' && info.name === 'appointments'
        ? buildUserShape(req.user!, info, r.client, deps.config.clinicTimeZone, new Date(), { window: false })
        : undefined,
    auditor: (req, def, r) => {
      if (!isPatientData(def)) return undefined;
      return r.subset ? auditSubset(audit, req, def, r.subset) : auditRead(audit, req, def, r.offset.lsn < 0n);
    },
    limits: { perUser, perTable, idleMs: idleMinutes * 60_000, caller: (req) => req.user!.id },
    track: (req) => sessionRequests.track(req.sessionId!),
  };
}

/** `sync.subscribe` for a first request (offset=-1), `sync.read` for any later one. */
function auditRead(audit: GroupAuditWriter, req: Request, def: ShapeDef, first: boolean): ShapeAuditor {
  const { whereText: where, columns } = def;
  return (answer) =>
    audit.write({
      ...auditContext(req),
      action: first ? 'sync.subscribe' : 'sync.read',
      entity: def.table,
      details: answer
        ? { where, columns, handle: answer.handle, from: answer.from, to: answer.to, messages: answer.messages }
        : { where, columns },
    });
}

/** `sync.subset`: the scope it read, the subset's own filter and paging, the rows sent. */
function auditSubset(audit: GroupAuditWriter, req: Request, scope: ShapeDef, subset: SubsetParams): ShapeAuditor {
  return (answer) =>
    audit.write({
      ...auditContext(req),
      action: 'sync.subset',
      entity: scope.table,
      details: {
        where: scope.whereText,
        columns: scope.columns,
        subset: {
          where: subset.where ?? null,
          params: subset.params,
          order_by: subset.orderBy ?? null,
          limit: subset.limit ?? null,
          offset: subset.offset ?? null,
        },
        messages: answer?.messages ?? null,
      },
    });
}
