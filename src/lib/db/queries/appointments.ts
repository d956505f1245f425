// Appointment reads from the local replica. Lists page with a keyset on (starts_at, id),
// newest first like the API, so every page costs one index range scan, never an OFFSET.
import { mergedRows } from './merged';
import { searchWords } from '../../shared/search-fold';
import { writeStateColumns, type RowWrite } from './write-state';
import { PAGE_SIZE, Params, likePattern, type Queryable, type SqlQuery } from './queryable';

export interface AppointmentFilters {
  doctorId?: string | null;
  patientId?: string | null;
  statuses?: string[];
  urgency?: string | null;
  /** Inclusive lower bound on starts_at (ISO instant). */
  from?: string | null;
  /** Exclusive upper bound on starts_at (ISO instant). */
  to?: string | null;
  /** Patient name, MRN or phone. */
  patientSearch?: string | null;
}

export interface Cursor {
  starts_at: string | Date;
  id: string;
}

export type PageRequest =
  | { kind: 'first' }
  | { kind: 'next'; after: Cursor }
  | { kind: 'previous'; before: Cursor }
  | { kind: 'last'; total: number };

export interface AppointmentRow extends RowWrite {
  id: string;
  patient_id: string;
  doctor_id: string;
  starts_at: Date;
  ends_at: Date;
  duration_minutes: number;
  status: string;
  urgency: string;
  reason: string | null;
  pending: boolean;
  patient_name: string | null;
  patient_mrn: string | null;
  doctor_name: string | null;
  type_id: string | null;
  /** the appointment type's name and colour (the grid colours by type), null without a type */
  type_name: string | null;
  type_colour: string | null;
}

const BASE_COLUMNS = `a.id, a.patient_id, a.doctor_id, a.starts_at, a.ends_at, a.duration_minutes, a.status, a.urgency, a.reason, a.type_id`;
/** Names for a handful of rows: correlated lookups by primary key, pushed into each view branch. */
const NAMES = `(SELECT p.full_name FROM patients p WHERE p.id = m.patient_id) AS patient_name,
  (SELECT p.mrn FROM patients p WHERE p.id = m.patient_id) AS patient_mrn,
  (SELECT d.full_name FROM doctors d WHERE d.id = m.doctor_id) AS doctor_name,
  (SELECT t.name FROM appointment_types t WHERE t.id = m.type_id) AS type_name,
  (SELECT t.colour FROM appointment_types t WHERE t.id = m.type_id) AS type_colour`;
function filterClause(f: AppointmentFilters, params: Params): string[] {
  const where: string[] = [];
  if (f.doctorId) where.push(`a.doctor_id = ${params.add(f.doctorId)}`);
  if (f.patientId) where.push(`a.patient_id = ${params.add(f.patientId)}`);
  if (f.statuses?.length) where.push(`a.status = ANY(${params.add(f.statuses)}::text[])`);
  if (f.urgency) where.push(`a.urgency = ${params.add(f.urgency)}`);
  if (f.from) where.push(`a.starts_at >= ${params.add(f.from)}`);
  if (f.to) where.push(`a.starts_at < ${params.add(f.to)}`);
  const q = f.patientSearch?.trim();
  if (q) where.push(`a.patient_id IN (${patientMatchSql(q, params)})`);
  return where;
}

/** Ids of patients whose name, MRN or phone matches the text. */
export function patientMatchSql(text: string, params: Params): string {
  return `SELECT id FROM patients WHERE ${patientMatchWhere(text, params, 'patients')}`;
}

/**
 * Every word of the text is a substring of the folded haystack (name, MRN, phone, phone
 * digits; lower case, accents dropped by local migration 8): accents, case and word order
 * do not matter. Trigram-indexed.
 */
export function patientMatchWhere(text: string, params: Params, alias: string): string {
  const words = searchWords(text);
  if (!words.length) return 'true';
  return words.map((w) => `${alias}.search_text LIKE ${params.add(likePattern(w))}`).join(' AND ');
}

export interface PageQuery extends SqlQuery {
  /** The query reads backwards (previous / last page): reverse its rows. */
  reversed: boolean;
}

/** SQL of one page; live queries re-run it when sync changes the tables. */
export function appointmentPageQuery(filters: AppointmentFilters, page: PageRequest, pageSize = PAGE_SIZE): PageQuery {
  const params = new Params();
  let reversed = false;
  let limit = pageSize;
  if (page.kind === 'previous' || page.kind === 'last') reversed = true;
  if (page.kind === 'last') limit = page.total % pageSize || pageSize;
  const where = () => {
    const w = filterClause(filters, params);
    if (page.kind === 'next') {
      w.push(
        `(a.starts_at, a.id) < (${params.add(page.after.starts_at)}::timestamptz, ${params.add(page.after.id)}::uuid)`,
      );
    } else if (page.kind === 'previous') {
      w.push(
        `(a.starts_at, a.id) > (${params.add(page.before.starts_at)}::timestamptz, ${params.add(page.before.id)}::uuid)`,
      );
    }
    return w;
  };
  const order = reversed ? 'ASC' : 'DESC';
  const rows = mergedRows('appointments', BASE_COLUMNS, where, `a.starts_at ${order}, a.id ${order}`, limit);
  const sql = `SELECT m.*, ${NAMES}, ${writeStateColumns('m')} FROM (${rows}) m ORDER BY m.starts_at ${order}, m.id ${order} LIMIT ${Math.trunc(limit)}`;
  return { sql, params: params.values, reversed };
}

/** One page of the list; rows are always newest first. */
export async function appointmentPage(
  db: Queryable,
  filters: AppointmentFilters,
  page: PageRequest,
  pageSize = PAGE_SIZE,
): Promise<AppointmentRow[]> {
  const q = appointmentPageQuery(filters, page, pageSize);
  const { rows } = await db.query<AppointmentRow>(q.sql, q.params);
  return q.reversed ? rows.reverse() : rows;
}

/**
 * Rows matching the filters. Counted as synced − synced rows an overlay row shadows + overlay
 * rows: an anti join per synced row would cost tens of milliseconds on 50k rows.
 */
export function countAppointmentsQuery(filters: AppointmentFilters): SqlQuery {
  const params = new Params();
  // Each use binds its own parameters (see merged.ts).
  const filter = () =>
    filterClause(filters, params)
      .map((w) => ` AND ${w}`)
      .join('');
  return {
    sql: `SELECT ((SELECT count(*) FROM appointments_synced a WHERE a.deleted_at IS NULL${filter()})
           - (SELECT count(*) FROM appointments_synced a JOIN appointments_overlay o ON o.id = a.id
               WHERE a.deleted_at IS NULL${filter()})
           + (SELECT count(*) FROM appointments_overlay a WHERE NOT a.local_deleted${filter()}))::int AS n`,
    params: params.values,
  };
}

export async function countAppointments(db: Queryable, filters: AppointmentFilters): Promise<number> {
  const q = countAppointmentsQuery(filters);
  const { rows } = await db.query<{ n: number }>(q.sql, q.params);
  return rows[0]?.n ?? 0;
}

/** Appointments in [from, to) for the given doctors (all doctors when null), by start. */
export function appointmentsBetweenQuery(from: string, to: string, doctorIds: string[] | null = null): SqlQuery {
  const params = new Params();
  // The lower bound on starts_at keeps the index range narrow (no visit is longer than 8 h).
  const where = [
    `a.starts_at < ${params.add(to)}`,
    `a.ends_at > ${params.add(from)}`,
    `a.starts_at > ${params.add(from)}::timestamptz - interval '8 hours'`,
  ];
  if (doctorIds) where.push(`a.doctor_id = ANY(${params.add(doctorIds)}::uuid[])`);
  return {
    sql: `SELECT m.*, ${NAMES}, ${writeStateColumns('m')} FROM (SELECT ${BASE_COLUMNS}, a.pending FROM appointments a WHERE ${where.join(' AND ')}) m
      ORDER BY m.starts_at, m.id`,
    params: params.values,
  };
}

export async function appointmentsBetween(
  db: Queryable,
  from: string,
  to: string,
  doctorIds: string[] | null = null,
): Promise<AppointmentRow[]> {
  const q = appointmentsBetweenQuery(from, to, doctorIds);
  return (await db.query<AppointmentRow>(q.sql, q.params)).rows;
}

export interface AppointmentDetail extends AppointmentRow {
  clinical_notes: string | null;
  cancelled_at: Date | null;
  cancellation_reason: string | null;
  rescheduled_from: string | null;
  created_at: Date | null;
  updated_at: Date | null;
  version: number | null;
  patient_phone: string | null;
  patient_dob: string | null;
}

export function appointmentDetailQuery(id: string): SqlQuery {
  return {
    sql: `SELECT m.*, ${NAMES},
            (SELECT p.phone FROM patients p WHERE p.id = m.patient_id) AS patient_phone,
            (SELECT p.date_of_birth::text FROM patients p WHERE p.id = m.patient_id) AS patient_dob
       FROM (SELECT ${BASE_COLUMNS}, a.pending, a.clinical_notes, a.cancelled_at, a.cancellation_reason,
                    a.rescheduled_from, a.created_at, a.updated_at, a.version
               FROM appointments a WHERE a.id = $1) m`,
    params: [id],
  };
}

/** The appointment a rescheduled one was moved to (indexed by local migration 8). */
export function rescheduledToQuery(id: string): SqlQuery {
  return {
    sql: `SELECT id, starts_at FROM appointments WHERE rescheduled_from = $1 ORDER BY created_at DESC LIMIT 1`,
    params: [id],
  };
}
