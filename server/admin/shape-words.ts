// A shape as an admin reads it: "Clinician · Dr Ana Ruiz · from Mon 5 Oct 2026 · their
// patients", not the SQL and ids the sync service reports (`scope`, kept for support).
import type { Queryable } from '../db/pool.js';

/** The clinician patients rule's subquery (server/sync/shape-rules.ts), up to its closing parenthesis. */
const THEIR_PATIENTS = /\s*(?:AND\s+)?id IN \(SELECT patient_id FROM appointments WHERE [^()]*\)/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
const ROLES: Record<string, string> = {
  admin: 'Admin',
  receptionist: 'Receptionist',
  clinician: 'Clinician',
  standalone: 'Direct client (standalone sync service)',
};

export function formatClinicDate(iso: string, timeZone: string, locale = 'en-GB'): string {
  return new Intl.DateTimeFormat(locale, {
    timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
  }).format(new Date(iso));
}

/** Doctor ids named in the scopes, to look their names up in one query. */
export function doctorIdsIn(scopes: string[]): string[] {
  const ids = new Set<string>();
  for (const scope of scopes) {
    const m = /doctor[ _](?:id = ')?([0-9a-f-]{36})/.exec(scope);
    if (m && UUID.test(m[1]!)) ids.add(m[1]!);
  }
  return [...ids];
}

export function describeShape(scope: string, doctors: Map<string, string>, timeZone: string): string {
  const [who = '', ...rest] = scope.split(' · ');
  const role = who.split(' ', 1)[0] ?? '';
  const parts = [ROLES[role] ?? who];
  const doctorId = /doctor[ _](?:id = ')?([0-9a-f-]{36})/.exec(scope)?.[1];
  if (doctorId) parts.push(doctors.get(doctorId) ?? 'a doctor no longer on the list');
  else if (role === 'receptionist' || role === 'admin') parts.push('all doctors');
  const rule = rest.find((p) => p !== 'patients with an appointment') ?? '';
  const theirPatients = rest.includes('patients with an appointment') || THEIR_PATIENTS.test(rule);
  const where = rule.replace(THEIR_PATIENTS, '');
  const windowStart = /starts_at >= '([^']+)'/.exec(where)?.[1];
  if (windowStart && !Number.isNaN(Date.parse(windowStart)))
    parts.push(`from ${formatClinicDate(windowStart, timeZone)} on`);
  if (theirPatients) parts.push('patients with an appointment with this doctor');
  const narrowed = /\((.+)\)\s*$/.exec(where)?.[1];
  if (narrowed) parts.push(`narrowed by the app: ${narrowed}`);
  return parts.join(' · ');
}

export async function describeShapes(db: Queryable, scopes: string[], timeZone: string): Promise<Map<string, string>> {
  const ids = doctorIdsIn(scopes);
  const names = new Map<string, string>();
  if (ids.length) {
    const { rows } = await db.query<{ id: string; full_name: string }>(
      'SELECT id, full_name FROM doctors WHERE id = ANY($1::uuid[])',
      [ids],
    );
    for (const r of rows) names.set(r.id, r.full_name);
  }
  return new Map(scopes.map((s) => [s, describeShape(s, names, timeZone)]));
}
