// Patient search as you type and patient detail, all local.
import { patientMatchWhere } from './appointments';
import { mergedRows } from './merged';
import { Params, type Queryable, type SqlQuery } from './queryable';
import { writeStateColumns, type RowWrite } from './write-state';

export interface PatientRow extends RowWrite {
  id: string;
  full_name: string;
  mrn: string | null;
  phone: string | null;
  date_of_birth: string | null;
  email: string | null;
  pending: boolean;
}

const COLUMNS = `id, full_name, mrn, phone, date_of_birth::text AS date_of_birth, email, pending`;
const BRANCH_COLUMNS = `a.id, a.full_name, a.mrn, a.phone, a.date_of_birth, a.email`;

/** Up to `limit` patients matching name, MRN or phone (digits), by name. Empty text: first by name. */
export function searchPatientsQuery(text: string, limit = 50): SqlQuery {
  const params = new Params();
  const q = text.trim();
  const where = () => (q ? [patientMatchWhere(q, params, 'a')] : []);
  const rows = mergedRows('patients', BRANCH_COLUMNS, where, 'lower(a.full_name), a.id', limit);
  return {
    sql: `SELECT ${COLUMNS}, ${writeStateColumns('m')} FROM (${rows}) m ORDER BY lower(full_name), id LIMIT ${Math.trunc(limit)}`,
    params: params.values,
  };
}

export async function searchPatients(db: Queryable, text: string, limit = 50): Promise<PatientRow[]> {
  const q = searchPatientsQuery(text, limit);
  return (await db.query<PatientRow>(q.sql, q.params)).rows;
}

export function patientByIdQuery(id: string): SqlQuery {
  return { sql: `SELECT ${COLUMNS}, ${writeStateColumns('m')} FROM patients m WHERE id = $1`, params: [id] };
}

export async function patientById(db: Queryable, id: string): Promise<PatientRow | null> {
  const q = patientByIdQuery(id);
  return (await db.query<PatientRow>(q.sql, q.params)).rows[0] ?? null;
}
