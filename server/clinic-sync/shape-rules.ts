// What each role may sync (docs/sync.md, "Shape rules per role"; authorization lives on the
// server). The server decides table, where and columns; a client's where/columns may only
// narrow them: a column outside the allowed set is a 403, a malformed request a 400.
import type { SessionUser } from '../../src/lib/shared/roles.js';
import { appointmentWindowStart } from '../../src/lib/shared/appointment-window.js';
import { andWhere, type ShapeDef } from '../sync/shape-def.js';
import { checkColumns, clientWhere, type ClientShapeParams } from '../sync/shape-request.js';
import type { TableInfo } from '../sync/table-info.js';
import { parseWhere } from '../sync/where-parser.js';

export const SYNCED_TABLES = [
  'doctors',
  'specializations',
  'doctor_specializations',
  'doctor_hours',
  'patients',
  'appointments',
  'appointment_types',
  'appointment_type_doctors',
  'waitlist_entries',
] as const;

// The window is shared with the device, which asks for the history before it (subsets).
export { appointmentWindowStart, WINDOW_WEEKS } from '../../src/lib/shared/appointment-window.js';

interface ServerRule {
  clauses: string[];
  hiddenColumns: string[];
}

function serverRule(user: SessionUser, table: string, windowStart: string | null): ServerRule {
  const isClinician = user.role === 'clinician';
  const doctor = user.doctor_id ?? '00000000-0000-0000-0000-000000000000';
  if (table === 'appointments') {
    const clauses = ['deleted_at IS NULL'];
    if (windowStart) clauses.push(`starts_at >= '${windowStart}'`);
    if (isClinician) clauses.push(`doctor_id = '${doctor}'`);
    return { clauses, hiddenColumns: user.role === 'receptionist' ? ['clinical_notes'] : [] };
  }
  if (table === 'patients') {
    const clauses = ['deleted_at IS NULL'];
    // A clinician's patients: those with a live appointment with their doctor (a subquery shape).
    if (isClinician)
      clauses.push(`id IN (SELECT patient_id FROM appointments WHERE doctor_id = '${doctor}' AND deleted_at IS NULL)`);
    return { clauses, hiddenColumns: [] };
  }
  if (table === 'waitlist_entries') {
    // Waiting entries only: a booked or removed one leaves every device.
    const clauses = [`status = 'waiting'`];
    if (isClinician) clauses.push(`doctor_id = '${doctor}'`);
    return { clauses, hiddenColumns: [] };
  }
  return { clauses: [], hiddenColumns: [] };
}

/**
 * The shape a user gets for a table, narrowed by the client's where/columns. `window: false`
 * drops the appointment window and keeps every other rule of the role: the scope of a subset
 * snapshot that reads a patient's visits before the window (never a shape of its own).
 */
export function buildUserShape(
  user: SessionUser,
  info: TableInfo,
  client: ClientShapeParams,
  timeZone: string,
  now = new Date(),
  { window = true }: { window?: boolean } = {},
): ShapeDef {
  const rule = serverRule(user, info.name, window ? appointmentWindowStart(now, timeZone) : null);
  const allowed = info.columns.map((c) => c.name).filter((c) => !rule.hiddenColumns.includes(c));
  const columns = checkColumns(info, allowed, client.columns);
  const serverText = rule.clauses.join(' AND ');
  const serverTree = serverText ? parseWhere(serverText) : undefined;
  const narrowed = clientWhere(info, allowed, client.where, client.params);
  const whereText = [serverText, client.where?.trim() ? `(${client.where.trim()})` : ''].filter(Boolean).join(' AND ');
  return {
    schema: info.schema,
    table: info.name,
    where: andWhere(serverTree, narrowed),
    whereText,
    params: narrowed ? client.params : {},
    columns,
    replica: client.replica,
    scope: user.role === 'clinician' ? `clinician (doctor ${user.doctor_id})` : user.role,
    narrowed: !!narrowed || columns.length !== allowed.length,
  };
}
