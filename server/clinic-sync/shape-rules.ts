// What each role may sync (docs/sync.md, "Shape rules per role"; authorization lives on the
// server). The server decides table, where and columns; a client's where/columns may only
// narrow them: a column outside the allowed set is a 403, a malformed request a 400.
import type { SessionUser } from '../../src/lib/shared/roles.js';
import { clinicDate, zonedToUtc } from '../../src/lib/shared/time.js';
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

/** Appointment history kept on a device: from Monday 8 weeks back (56–62 days), and all ahead. */
export const WINDOW_WEEKS = 8;

/**
 * The window's anchor: Monday 00:00 clinic time, WINDOW_WEEKS before the current week. It moves
 * once a week, so an appointments shape changes definition (and clients refetch) once a week.
 */
export function appointmentWindowStart(now: Date, timeZone: string): string {
  const today = clinicDate(now, timeZone);
  const d = new Date(`${today}T00:00:00Z`);
  const isoWeekday = ((d.getUTCDay() + 6) % 7) + 1;
  d.setUTCDate(d.getUTCDate() - (isoWeekday - 1) - WINDOW_WEEKS * 7);
  return zonedToUtc(d.toISOString().slice(0, 10), '00:00', timeZone).toISOString();
}

interface ServerRule {
  clauses: string[];
  hiddenColumns: string[];
}

function serverRule(user: SessionUser, table: string, windowStart: string): ServerRule {
  const isClinician = user.role === 'clinician';
  const doctor = user.doctor_id ?? '00000000-0000-0000-0000-000000000000';
  if (table === 'appointments') {
    const clauses = ['deleted_at IS NULL', `starts_at >= '${windowStart}'`];
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

/** The shape a user gets for a table, narrowed by the client's where/columns. */
export function buildUserShape(
  user: SessionUser,
  info: TableInfo,
  client: ClientShapeParams,
  timeZone: string,
  now = new Date(),
): ShapeDef {
  const rule = serverRule(user, info.name, appointmentWindowStart(now, timeZone));
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
