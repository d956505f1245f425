// SQL for patients. Search ignores accents, case and word order: every word of the term
// must be a substring of the folded haystack of name, MRN, phone and phone digits
// (`patient_search_haystack`, migration 0110), served by its trigram GIN index.
import type { PoolClient, Queryable } from '../db/pool.js';
import { searchWords } from '../../src/lib/shared/search-fold.js';
import type { Patient } from '../../src/lib/shared/patient-schemas.js';

const PATIENT_COLUMNS = 'p.id, p.full_name, p.date_of_birth, p.mrn, p.phone, p.email, p.created_at, p.updated_at';

/** Clinicians see only patients with a live appointment with their doctor. */
const CLINICIAN_SCOPE = `EXISTS (SELECT 1 FROM appointments a WHERE a.patient_id = p.id AND a.doctor_id = ? AND a.deleted_at IS NULL)`;

function conditions(doctorId: string | null, search: string | undefined) {
  const params: unknown[] = [];
  const where = ['p.deleted_at IS NULL'];
  const add = (template: string, value: unknown) => {
    params.push(value);
    where.push(template.replaceAll('?', `$${params.length}`));
  };
  if (doctorId) add(CLINICIAN_SCOPE, doctorId);
  for (const word of search ? searchWords(search) : []) {
    // The term is data: LIKE's wildcards in it match themselves.
    add('patient_search_haystack(p.full_name, p.mrn, p.phone) LIKE ?', `%${word.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  return { where: where.join(' AND '), params };
}

export async function listPatientsPage(
  db: Queryable,
  doctorId: string | null,
  search: string | undefined,
  limit: number,
  offset: number,
) {
  const { where, params } = conditions(doctorId, search);
  const n = params.length;
  // With a search term the matches are found first (BitmapOr over the trigram indexes) and
  // then sorted: MATERIALIZED keeps the planner from walking the name index in order and
  // filtering every row, which it picks when it overestimates a rare term's matches.
  const source = search
    ? `WITH matches AS MATERIALIZED (SELECT ${PATIENT_COLUMNS} FROM patients p WHERE ${where})`
    : `WITH matches AS NOT MATERIALIZED (SELECT ${PATIENT_COLUMNS} FROM patients p WHERE ${where})`;
  const { rows } = await db.query<Patient & { total: number }>(
    `${source}
     SELECT c.total, page.* FROM (SELECT count(*) AS total FROM matches) c
     LEFT JOIN LATERAL (SELECT * FROM matches ORDER BY full_name, id LIMIT $${n + 1} OFFSET $${n + 2}) page ON true
     ORDER BY page.full_name, page.id`,
    [...params, limit, offset],
  );
  return {
    count: rows[0]?.total ?? 0,
    results: rows.filter((r) => r.id !== null).map(({ total: _total, ...patient }) => patient as Patient),
  };
}

export async function findPatient(db: Queryable, doctorId: string | null, id: string): Promise<Patient | undefined> {
  const { where, params } = conditions(doctorId, undefined);
  const { rows } = await db.query<Patient>(
    `SELECT ${PATIENT_COLUMNS} FROM patients p WHERE ${where} AND p.id = $${params.length + 1}`,
    [...params, id],
  );
  return rows[0];
}

export interface PatientFields {
  full_name?: string;
  date_of_birth?: string;
  mrn?: string;
  phone?: string | null;
  email?: string | null;
}
const FIELDS = ['full_name', 'date_of_birth', 'mrn', 'phone', 'email'] as const;

/** Inserts unless the id exists (then false: the caller decides what a taken id means). */
export async function insertPatient(
  tx: PoolClient,
  id: string,
  fields: Required<Pick<PatientFields, 'full_name' | 'date_of_birth' | 'mrn'>> & PatientFields,
) {
  const { rowCount } = await tx.query(
    `INSERT INTO patients (id, full_name, date_of_birth, mrn, phone, email) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (id) DO NOTHING`,
    [id, fields.full_name, fields.date_of_birth, fields.mrn, fields.phone ?? null, fields.email ?? null],
  );
  return rowCount === 1;
}

/** Sets the given fields (column names from FIELDS only); false when no live patient has this id. */
export async function updatePatient(tx: PoolClient, id: string, fields: PatientFields): Promise<boolean> {
  const values: unknown[] = [id];
  const sets = ['updated_at = now()'];
  for (const column of FIELDS) {
    if (fields[column] === undefined) continue;
    values.push(fields[column]);
    sets.push(`${column} = $${values.length}`);
  }
  const { rowCount } = await tx.query(
    `UPDATE patients SET ${sets.join(', ')} WHERE id = $1 AND deleted_at IS NULL`,
    values,
  );
  return rowCount === 1;
}
