// SQL for appointments. Every statement binds its values ($n); the only interpolated text is
// built here from constants (column lists, condition templates).
import { prepared, type PoolClient, type Queryable } from '../db/pool.js';
import type { CountCache, PageAnchor } from '../http/count-cache.js';
import type { AppointmentStatus, Urgency } from '../../src/lib/shared/appointment-schemas.js';

export const ACTIVE_SQL = `status IN ('scheduled', 'confirmed', 'checked_in', 'in_progress')`;
// No appointment is longer than this (the duration_minutes check): bounds index range scans.
const MAX_DURATION = `interval '480 minutes'`;
// Nor holds its doctor longer than this (duration plus both buffers, at most 120 minutes each).
const MAX_HELD = `interval '720 minutes'`;

/**
 * THE overlap condition of the server, for every query that asks "what overlaps [from, to)?"
 * (the booking check, its pre-check, the 409 details, free-slot search). `from`/`to` are SQL
 * expressions (parameters). For a doctor the ranges compared are the occupied ones (with
 * buffers, appointment_occupied() of migration 0040, the exclusion constraint's expression);
 * `from`/`to` must already hold the new appointment's own buffers. A patient is busy during
 * the appointment itself. The starts_at bound lets the planner use a range scan.
 */
export function activeOverlapSql(owner: 'doctor_id' | 'patient_id', from: string, to: string): string {
  const live = `deleted_at IS NULL AND ${ACTIVE_SQL}`;
  if (owner === 'patient_id') {
    return `${live} AND starts_at < ${to} AND ends_at > ${from} AND starts_at > ${from}::timestamptz - ${MAX_DURATION}`;
  }
  return `${live} AND appointment_occupied(starts_at, ends_at, buffer_before_minutes, buffer_after_minutes)
      && tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)')
    AND starts_at > ${from}::timestamptz - ${MAX_HELD} AND starts_at < ${to}::timestamptz + ${MAX_HELD}`;
}

/** Who is asking decides which rows exist for them and whether notes are shown. */
export interface Viewer {
  /** Set for clinicians: they see only this doctor's appointments. */
  doctorId: string | null;
  /** Clinicians (on their own rows) and admins read clinical notes; receptionists never. */
  seesNotes: boolean;
}

function appointmentColumns(viewer: Viewer): string {
  return `a.id, a.patient_id, a.doctor_id, a.starts_at, a.ends_at, a.duration_minutes, a.status, a.urgency,
    a.reason, ${viewer.seesNotes ? 'a.clinical_notes,' : ''} a.cancelled_by, a.cancelled_at, a.cancellation_reason,
    a.rescheduled_from, a.series_id, a.created_by, a.created_at, a.updated_at, a.version,
    a.type_id, a.buffer_before_minutes, a.buffer_after_minutes,
    (SELECT json_build_object('id', t.id, 'name', t.name, 'colour', t.colour) FROM appointment_types t
      WHERE t.id = a.type_id) AS type,
    json_build_object('id', p.id, 'full_name', p.full_name, 'mrn', p.mrn) AS patient,
    json_build_object('id', d.id, 'full_name', d.full_name, 'specializations', ARRAY(
      SELECT s.name FROM doctor_specializations ds JOIN specializations s ON s.id = ds.specialization_id
       WHERE ds.doctor_id = d.id ORDER BY s.name)) AS doctor,
    COALESCE((SELECT json_agg(json_build_object('id', r.id, 'channel', r.channel, 'send_at', iso_utc(r.send_at),
      'status', r.status) ORDER BY r.send_at, r.id) FROM reminders r WHERE r.appointment_id = a.id), '[]'::json) AS reminders`;
}
const APPOINTMENT_JOINS = `appointments a JOIN patients p ON p.id = a.patient_id JOIN doctors d ON d.id = a.doctor_id`;

export interface AppointmentFilters {
  doctor_id?: string;
  patient_id?: string;
  status?: AppointmentStatus[];
  urgency?: Urgency;
  from?: string;
  to?: string;
}

/** WHERE clause and its parameters for a list; numbering starts at $1. */
export function listConditions(viewer: Viewer, f: AppointmentFilters): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const conditions = ['a.deleted_at IS NULL'];
  const add = (template: string, value: unknown) => {
    params.push(value);
    conditions.push(template.replaceAll('?', `$${params.length}`));
  };
  if (viewer.doctorId) add('a.doctor_id = ?', viewer.doctorId);
  if (f.doctor_id) add('a.doctor_id = ?', f.doctor_id);
  if (f.patient_id) add('a.patient_id = ?', f.patient_id);
  if (f.status) add('a.status = ANY(?::text[])', f.status);
  if (f.urgency) add('a.urgency = ?', f.urgency);
  if (f.from) add(`a.ends_at > ?::timestamptz AND a.starts_at > ?::timestamptz - ${MAX_DURATION}`, f.from);
  if (f.to) add('a.starts_at < ?::timestamptz', f.to);
  return { where: conditions.join(' AND '), params };
}

export interface AppointmentRow {
  id: string;
  doctor_id: string;
  patient_id: string;
  starts_at: Date;
  ends_at: Date;
  duration_minutes: number;
  status: AppointmentStatus;
  urgency: Urgency;
  version: number;
  [column: string]: unknown;
}

/** The list's total (what `count` answers): every matching row, counted. */
export function countSql(viewer: Viewer, filters: AppointmentFilters) {
  const { where, params } = listConditions(viewer, filters);
  return { text: `SELECT count(*) AS total FROM appointments a WHERE ${where}`, values: params };
}

/**
 * A page, built in two steps. The page's ids come first, from the (starts_at, id) order alone:
 * OFFSET skips rows below the LIMIT, and had the skipped rows carried the full column list
 * (patient, doctor, type, reminders), every one of them would have been built and thrown away
 * (a late page of a 50k list took seconds). Only the kept rows are joined and built.
 *
 * With the total known, a page in the second half is read from the other end of the index
 * (ascending, skipping total − offset − limit rows), so the last page of 50,000 skips 0 rows
 * instead of 49,950; the outer ORDER BY puts it back in list order. Without it, from the start.
 * With an anchor (a row of a neighbouring page read since the last change), nothing is skipped.
 */
export function pageSql(
  viewer: Viewer,
  filters: AppointmentFilters,
  limit: number,
  offset: number,
  total?: number,
  anchor?: PageAnchor,
) {
  const { where, params } = listConditions(viewer, filters);
  const n = params.length;
  if (anchor) {
    // From a row of a page read before (count-cache.ts): an index range from that row's
    // (starts_at, id), exactly as the list orders. Its starts_at is looked up by id (an init
    // plan, so the row comparison is still an index condition) rather than carried through
    // JavaScript, whose dates stop at milliseconds.
    const backwards = anchor.side === 'before';
    const op = { at: '<=', after: '<', before: '>' }[anchor.side];
    const from = `(a.starts_at, a.id) ${op} ((SELECT x.starts_at FROM appointments x WHERE x.id = $${n + 2}), $${n + 2}::uuid)`;
    const order = backwards ? 'a.starts_at ASC, a.id ASC' : 'a.starts_at DESC, a.id DESC';
    const text = pageOfIds(
      viewer,
      `SELECT a.id FROM appointments a WHERE ${where} AND ${from} ORDER BY ${order} LIMIT $${n + 1}`,
    );
    return { text, values: [...params, limit, anchor.id] };
  }
  const fromEnd = total !== undefined && offset > total / 2;
  const order = fromEnd ? 'a.starts_at ASC, a.id ASC' : 'a.starts_at DESC, a.id DESC';
  const [pageLimit, pageOffset] = fromEnd
    ? [Math.max(0, Math.min(limit, total - offset)), Math.max(0, total - offset - limit)]
    : [limit, offset];
  const text = pageOfIds(
    viewer,
    `SELECT a.id FROM appointments a WHERE ${where} ORDER BY ${order} LIMIT $${n + 1} OFFSET $${n + 2}`,
  );
  return { text, values: [...params, pageLimit, pageOffset] };
}

/** The full rows of the ids `idsSql` selects, in list order. */
function pageOfIds(viewer: Viewer, idsSql: string): string {
  const page = `SELECT ${appointmentColumns(viewer)}
        FROM (${idsSql}) k
        JOIN appointments a ON a.id = k.id
        JOIN patients p ON p.id = a.patient_id
        JOIN doctors d ON d.id = a.doctor_id`;
  return `SELECT page.* FROM (${page}) page ORDER BY page.starts_at DESC, page.id DESC`;
}

/**
 * The total (kept by `counts` between changes when given: server/http/count-cache.ts) and
 * the page: from an anchor when a neighbouring page was read since the last change, else by
 * skipping. A page from an anchor that does not hold the rows the total says it must (a change
 * not yet reported by the stream moved it) is read again by skipping.
 */
export async function listAppointmentsPage(
  db: Queryable,
  viewer: Viewer,
  filters: AppointmentFilters,
  limit: number,
  offset: number,
  counts?: CountCache,
) {
  const count = countSql(viewer, filters);
  const key = JSON.stringify(count);
  const epoch = counts?.currentEpoch;
  // Prepared: planning this page (joins, three subplans) costs about as much as running it.
  // The texts are bounded: one per combination of filters, viewer and paging mode.
  const run = (sql: { text: string; values: unknown[] }) => db.query<AppointmentRow>(prepared(sql.text, sql.values));
  const countNow = async () => (await db.query<{ total: number }>(prepared(count.text, count.values))).rows[0]!.total;
  const total = counts ? await counts.count(key, countNow) : await countNow();
  if (offset >= total) return { count: total, results: [] as AppointmentRow[] };
  const expected = Math.min(limit, total - offset);
  const anchor = counts?.anchorFor(key, offset, limit);
  let rows: AppointmentRow[] | undefined;
  if (anchor) {
    rows = (await run(pageSql(viewer, filters, limit, offset, total, anchor))).rows;
    if (rows.length === expected) counts!.anchoredReads++;
    else rows = undefined;
  }
  rows ??= (await run(pageSql(viewer, filters, limit, offset, total))).rows;
  if (counts && epoch !== undefined)
    counts.rememberPage(
      key,
      offset,
      rows.map((r) => r.id),
      epoch,
    );
  return { count: total, results: rows };
}

export async function findAppointment(db: Queryable, viewer: Viewer, id: string): Promise<AppointmentRow | undefined> {
  const values: unknown[] = [id];
  let scope = '';
  if (viewer.doctorId) {
    values.push(viewer.doctorId);
    scope = 'AND a.doctor_id = $2';
  }
  const { rows } = await db.query<AppointmentRow>(
    prepared(
      `SELECT ${appointmentColumns(viewer)} FROM ${APPOINTMENT_JOINS} WHERE a.id = $1 AND a.deleted_at IS NULL ${scope}`,
      values,
    ),
  );
  return rows[0];
}

/** The bare row, locked for the rest of the transaction. */
export async function lockAppointment(tx: PoolClient, id: string): Promise<AppointmentRow | undefined> {
  const { rows } = await tx.query<AppointmentRow>(
    'SELECT * FROM appointments WHERE id = $1 AND deleted_at IS NULL FOR UPDATE',
    [id],
  );
  return rows[0];
}

/**
 * Locks doctor rows in id order (two reschedules between the same doctors can't deadlock)
 * and returns the ids that exist and are active. With `nowait`, a row locked by another
 * transaction fails at once with 55P03 instead of queueing (see booking-queue.ts).
 */
export async function lockDoctors(tx: PoolClient, ids: string[], { nowait = false } = {}): Promise<Set<string>> {
  const found = new Set<string>();
  const sql = `SELECT id FROM doctors WHERE id = $1 AND active FOR UPDATE${nowait ? ' NOWAIT' : ''}`;
  for (const id of [...new Set(ids)].sort()) {
    const { rows } = await tx.query<{ id: string }>(prepared(sql, [id]));
    if (rows[0]) found.add(rows[0].id);
  }
  return found;
}

/**
 * Waits, outside any transaction, until no one holds the doctor's row lock. FOR KEY SHARE
 * conflicts with FOR UPDATE but not with itself, so every waiter wakes at the same moment.
 */
export async function waitForDoctor(db: Queryable, doctorId: string): Promise<void> {
  await db.query('SELECT 1 FROM doctors WHERE id = $1 FOR KEY SHARE', [doctorId]);
}

/** Locks a live patient row (after the doctors: one fixed order for every writer). */
export async function lockPatient(tx: PoolClient, id: string): Promise<boolean> {
  const { rows } = await tx.query('SELECT 1 FROM patients WHERE id = $1 AND deleted_at IS NULL FOR UPDATE', [id]);
  return rows.length === 1;
}

export interface Interval {
  id: string;
  starts_at: Date;
  ends_at: Date;
  /** the range the appointment holds its doctor for (with its buffers) */
  held_from: Date;
  held_to: Date;
}

/**
 * Active, live appointments of a doctor or a patient overlapping [startsAt, endsAt). For a
 * doctor, pass the occupied range of the new appointment (its start minus its buffer before,
 * its end plus its buffer after).
 */
export async function overlapping(
  tx: Queryable,
  column: 'doctor_id' | 'patient_id',
  ownerId: string,
  startsAt: Date,
  endsAt: Date,
  /** Only this doctor's rows (a clinician's scope); null: all. */
  doctorScope: string | null = null,
): Promise<Interval[]> {
  const { rows } = await tx.query<Interval>(
    prepared(
      `SELECT id, starts_at, ends_at,
              starts_at - make_interval(mins => buffer_before_minutes) AS held_from,
              ends_at + make_interval(mins => buffer_after_minutes) AS held_to
         FROM appointments
        WHERE ${column} = $1 AND ${activeOverlapSql(column, '$2', '$3')}
          AND ($4::uuid IS NULL OR doctor_id = $4)
        ORDER BY starts_at`,
      [ownerId, startsAt, endsAt, doctorScope],
    ),
  );
  return rows;
}

export async function doctorHours(db: Queryable, doctorId: string) {
  const { rows } = await db.query<{ weekday: number; start_time: string; end_time: string }>(
    'SELECT weekday, start_time::text, end_time::text FROM doctor_hours WHERE doctor_id = $1 ORDER BY weekday, start_time',
    [doctorId],
  );
  return rows;
}

export interface NewAppointment {
  id: string;
  patient_id: string;
  doctor_id: string;
  starts_at: Date;
  duration_minutes: number;
  urgency: Urgency;
  reason: string | null;
  rescheduled_from: string | null;
  created_by: string;
  type_id?: string | null;
  buffer_before_minutes?: number;
  buffer_after_minutes?: number;
  /** an occurrence of a recurring series (server/series/) */
  series_id?: string | null;
}

const INSERT_COLUMNS = `(id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, urgency, reason,
       rescheduled_from, created_by, type_id, buffer_before_minutes, buffer_after_minutes, series_id)`;
const INSERT_VALUES = `$1::uuid, $2::uuid, $3::uuid, $4::timestamptz, $4::timestamptz + make_interval(mins => $5::int), $5::int,
       $6::text, $7::text, $8::uuid, $9::uuid, $10::uuid, $11::int, $12::int, $13::uuid`;

const insertValues = (a: NewAppointment) => [
  a.id,
  a.patient_id,
  a.doctor_id,
  a.starts_at,
  a.duration_minutes,
  a.urgency,
  a.reason,
  a.rescheduled_from,
  a.created_by,
  a.type_id ?? null,
  a.buffer_before_minutes ?? 0,
  a.buffer_after_minutes ?? 0,
  a.series_id ?? null,
];

export async function insertAppointment(tx: PoolClient, a: NewAppointment): Promise<void> {
  await tx.query(prepared(`INSERT INTO appointments ${INSERT_COLUMNS} VALUES (${INSERT_VALUES})`, insertValues(a)));
}

/**
 * Inserts unless the patient has an active appointment overlapping it; false if they have.
 * The patient's row must be locked already: this statement's snapshot is taken after that
 * lock, so it sees every booking of theirs that committed before it.
 */
export async function insertUnlessPatientBusy(tx: PoolClient, a: NewAppointment): Promise<boolean> {
  const { rowCount } = await tx.query(
    prepared(
      `INSERT INTO appointments ${INSERT_COLUMNS}
       SELECT ${INSERT_VALUES}
        WHERE NOT EXISTS (SELECT 1 FROM appointments WHERE patient_id = $2 AND ${activeOverlapSql(
          'patient_id',
          '$4::timestamptz',
          '($4::timestamptz + make_interval(mins => $5::int))',
        )})`,
      insertValues(a),
    ),
  );
  return rowCount === 1;
}

export interface DoctorSlotCheck {
  /** the doctor has an active appointment overlapping [from, to) */
  doctorBusy: boolean;
  hours: Array<{ weekday: number; start_time: string; end_time: string }>;
  /** the patient exists (not soft-deleted); their row is now locked */
  patientLocked: boolean;
}

/**
 * With the doctor's row locked (a statement before this one, so this statement's snapshot
 * sees every booking that committed before the lock was granted): is [from, to) free, what
 * are the doctor's hours, and the patient's row locked, in one round trip, since the doctor's
 * lock is held for all of it. `from`/`to` hold the new appointment's buffers.
 */
export async function checkDoctorSlotAndLockPatient(
  tx: PoolClient,
  doctorId: string,
  from: Date,
  to: Date,
  patientId: string,
): Promise<DoctorSlotCheck> {
  const { rows } = await tx.query<{ doctor_busy: boolean; hours: DoctorSlotCheck['hours']; patient: boolean }>(
    prepared(
      `SELECT EXISTS (SELECT 1 FROM appointments WHERE doctor_id = $1 AND ${activeOverlapSql('doctor_id', '$2', '$3')}) AS doctor_busy,
              COALESCE((SELECT json_agg(json_build_object('weekday', weekday, 'start_time', start_time::text,
                                                          'end_time', end_time::text) ORDER BY weekday, start_time)
                          FROM doctor_hours WHERE doctor_id = $1), '[]') AS hours,
              EXISTS (SELECT 1 FROM patients WHERE id = $4 AND deleted_at IS NULL FOR UPDATE) AS patient`,
      [doctorId, from, to, patientId],
    ),
  );
  const row = rows[0]!;
  return { doctorBusy: row.doctor_busy, hours: row.hours, patientLocked: row.patient };
}

/** Column changes allowed by the service; names come from this type, never from input. */
export type AppointmentChanges = Partial<{
  status: AppointmentStatus;
  urgency: Urgency;
  reason: string | null;
  clinical_notes: string | null;
  cancelled_by: string | null;
  cancelled_at: 'now';
  cancellation_reason: string | null;
  deleted_at: 'now';
}>;
const CHANGEABLE = [
  'status',
  'urgency',
  'reason',
  'clinical_notes',
  'cancelled_by',
  'cancelled_at',
  'cancellation_reason',
  'deleted_at',
] as const;

/** Applies changes, bumps version and updated_at. */
export async function updateAppointment(tx: PoolClient, id: string, changes: AppointmentChanges): Promise<void> {
  const values: unknown[] = [id];
  const sets = ['version = version + 1', 'updated_at = now()'];
  for (const column of CHANGEABLE) {
    if (!(column in changes)) continue;
    const value = changes[column];
    if (value === 'now' && (column === 'cancelled_at' || column === 'deleted_at')) {
      sets.push(`${column} = now()`);
    } else {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
  }
  await tx.query(`UPDATE appointments SET ${sets.join(', ')} WHERE id = $1`, values);
}

/** Active appointments of a doctor in a window, for free-slot search. */
export async function doctorBusy(db: Queryable, doctorId: string, from: Date, to: Date): Promise<Interval[]> {
  return overlapping(db, 'doctor_id', doctorId, from, to);
}
