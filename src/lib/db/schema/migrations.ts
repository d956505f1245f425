// Ordered, forward-only migrations of the local (browser) database. An installed app that
// upgrades from any earlier version runs the ones it has not applied yet, in one transaction
// each, so its synced rows (and, later, pending writes) stay on board. Never edit a shipped
// migration: append a new one.
import { OUTBOX_EDITS_MIGRATION_SQL, OUTBOX_MIGRATION_SQL } from '../../outbox/schema';
import { LOCAL_MOVE_SQL } from '../../outbox/move-sql';
import { LOCAL_WRITE_FUNCTIONS_SQL } from '../../outbox/write-sql';
import { LOCAL_RULES_MIGRATION_SQL } from '../../outbox/rules-sql';
import { CLINIC_FOLD_FUNCTION_SQL } from '../../shared/search-fold';
import { SERIES_WAITLIST_MIGRATION_SQL } from '../../series/local-schema';
import { HISTORY_MIGRATION_SQL } from '../../history/local-schema';
import { SYNCED_TABLES, type SyncedTable } from './tables';

export interface LocalMigration {
  version: number;
  name: string;
  sql: string;
}

const LOCAL_TYPES: Record<string, string> = {
  id: 'uuid NOT NULL',
  doctor_id: 'uuid NOT NULL',
  patient_id: 'uuid NOT NULL',
  specialization_id: 'uuid NOT NULL',
  full_name: 'text NOT NULL',
  name: 'text NOT NULL',
  active: 'boolean',
  weekday: 'smallint NOT NULL',
  start_time: 'time NOT NULL',
  end_time: 'time NOT NULL',
  date_of_birth: 'date',
  mrn: 'text',
  phone: 'text',
  email: 'text',
  starts_at: 'timestamptz NOT NULL',
  ends_at: 'timestamptz NOT NULL',
  duration_minutes: 'integer NOT NULL',
  status: 'text NOT NULL',
  urgency: 'text NOT NULL',
  reason: 'text',
  clinical_notes: 'text',
  cancelled_by: 'uuid',
  cancelled_at: 'timestamptz',
  cancellation_reason: 'text',
  rescheduled_from: 'uuid',
  created_by: 'uuid',
  created_at: 'timestamptz',
  updated_at: 'timestamptz',
  deleted_at: 'timestamptz',
  version: 'integer',
  type_id: 'uuid',
  buffer_before_minutes: 'integer',
  buffer_after_minutes: 'integer',
  default_duration_minutes: 'integer NOT NULL',
  colour: 'text NOT NULL',
  series_id: 'uuid',
};

export function createTable(name: string, t: SyncedTable, extra: string[] = []): string {
  const cols = t.columns.map((c) => `  ${c} ${LOCAL_TYPES[c]}`);
  return `CREATE TABLE ${name} (\n${[...cols, ...extra, `  PRIMARY KEY (${t.primaryKey.join(', ')})`].join(',\n')}\n);`;
}

/**
 * A view merging synced rows with local overlay rows (the offline write path fills the
 * overlay): an overlay row replaces the synced row with the same id, `local_deleted` hides
 * it, and `pending` tells the UI which rows are not confirmed by the server yet.
 */
export function mergedView(view: string, t: SyncedTable, liveFilter: string, derived: string[] = []): string {
  const cols = [...t.columns, ...derived].join(', ');
  const overlay = `${view}_overlay`;
  return `CREATE VIEW ${view} AS
  SELECT ${cols}, false AS pending FROM ${t.local} s
   WHERE ${liveFilter} AND NOT EXISTS (SELECT 1 FROM ${overlay} o WHERE o.id = s.id)
  UNION ALL
  SELECT ${cols}, true AS pending FROM ${overlay}
   WHERE NOT local_deleted;`;
}

/**
 * Local migration 8: the patient haystack folds accents like the server's search
 * (`clinic_fold`, shared table in search-fold.ts), so "jose" finds José offline too. SET
 * EXPRESSION recomputes the stored column and its trigram index in place (no view depends on
 * dropping it). Plus the index behind "Rescheduled to" on the appointment page.
 */
const FOLDED_HAYSTACK = `clinic_fold(full_name || ' ' || coalesce(mrn, '') || ' ' || coalesce(phone, '')) || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')`;
const SEARCH_FOLD_MIGRATION_SQL = [
  CLINIC_FOLD_FUNCTION_SQL,
  `ALTER TABLE patients_synced ALTER COLUMN search_text SET EXPRESSION AS (${FOLDED_HAYSTACK});`,
  `ALTER TABLE patients_overlay ALTER COLUMN search_text SET EXPRESSION AS (${FOLDED_HAYSTACK});`,
  `CREATE INDEX IF NOT EXISTS appointments_synced_rescheduled_from_idx ON appointments_synced (rescheduled_from);`,
].join('\n\n');

const { doctors, specializations, doctor_specializations, doctor_hours, patients } = SYNCED_TABLES;
/**
 * Version 1's appointments, with the columns it shipped with: a shipped migration must run the
 * same on every upgrade; the columns later migrations added (5: type and buffers, 6: series)
 * are theirs to add.
 */
const appointments = {
  ...SYNCED_TABLES.appointments,
  columns: SYNCED_TABLES.appointments.columns.filter(
    (c) => !['type_id', 'buffer_before_minutes', 'buffer_after_minutes', 'series_id'].includes(c),
  ),
};

const v1 = [
  // Trigram indexes make substring search of 20k patients a few milliseconds.
  `CREATE EXTENSION IF NOT EXISTS pg_trgm;`,
  // Synced tables: written only by pglite-sync (SET LOCAL electric.syncing = true).
  createTable(doctors.local, doctors),
  createTable(specializations.local, specializations),
  createTable(doctor_specializations.local, doctor_specializations),
  createTable(doctor_hours.local, doctor_hours),
  createTable(patients.local, patients, [
    // Derived locally (sync writes only the server's columns): one lower-case haystack of
    // name, MRN, phone as typed and phone digits, for search as you type.
    `  search_text text GENERATED ALWAYS AS (lower(full_name || ' ' || coalesce(mrn, '') || ' ' || coalesce(phone, '') || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))) STORED`,
  ]),
  createTable(appointments.local, appointments),
  // Keyset order of the lists (both directions use it), the day view per doctor, a patient's
  // appointments, and patient search ordered by name.
  `CREATE INDEX appointments_synced_starts_id_idx ON appointments_synced (starts_at, id);`,
  `CREATE INDEX appointments_synced_doctor_starts_idx ON appointments_synced (doctor_id, starts_at);`,
  `CREATE INDEX appointments_synced_patient_starts_idx ON appointments_synced (patient_id, starts_at);`,
  `CREATE INDEX patients_synced_name_idx ON patients_synced (lower(full_name), id);`,
  `CREATE INDEX patients_synced_search_idx ON patients_synced USING gin (search_text gin_trgm_ops);`,
  `CREATE INDEX doctor_hours_synced_doctor_idx ON doctor_hours_synced (doctor_id, weekday);`,
  // Overlay tables: local, not yet confirmed versions of rows (the outbox writes them).
  createTable('appointments_overlay', appointments, [
    '  local_deleted boolean NOT NULL DEFAULT false',
    '  local_updated_at timestamptz NOT NULL DEFAULT now()',
  ]),
  createTable('patients_overlay', patients, [
    '  local_deleted boolean NOT NULL DEFAULT false',
    '  local_updated_at timestamptz NOT NULL DEFAULT now()',
    `  search_text text GENERATED ALWAYS AS (lower(full_name || ' ' || coalesce(mrn, '') || ' ' || coalesce(phone, '') || ' ' || regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g'))) STORED`,
  ]),
  `CREATE INDEX appointments_overlay_starts_id_idx ON appointments_overlay (starts_at, id);`,
  // What the UI reads.
  mergedView('appointments', appointments, 's.deleted_at IS NULL'),
  mergedView('patients', patients, 's.deleted_at IS NULL', ['search_text']),
  `CREATE VIEW doctors AS SELECT ${doctors.columns.join(', ')} FROM doctors_synced;`,
  `CREATE VIEW doctor_hours AS SELECT ${doctor_hours.columns.join(', ')} FROM doctor_hours_synced;`,
  `CREATE VIEW doctor_specialization_names AS
     SELECT ds.doctor_id, s.name FROM doctor_specializations_synced ds
       JOIN specializations_synced s ON s.id = ds.specialization_id;`,
  // Small key/value facts about this replica (clinic time zone, first sync finished, ...).
  `CREATE TABLE local_meta (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now());`,
].join('\n\n');

export const LOCAL_MIGRATIONS: readonly LocalMigration[] = [
  { version: 1, name: 'synced tables, overlays, views', sql: v1 },
  { version: 2, name: 'outbox', sql: OUTBOX_MIGRATION_SQL },
  { version: 3, name: 'offline edits, patient writes, recent confirmations', sql: OUTBOX_EDITS_MIGRATION_SQL },
  { version: 4, name: 'one-statement appointment writes, overlay versions', sql: LOCAL_WRITE_FUNCTIONS_SQL },
  {
    version: 5,
    name: 'appointment types, buffers, scheduling rules, undo',
    sql: LOCAL_RULES_MIGRATION_SQL({ createTable, mergedView }),
  },
  { version: 6, name: 'recurring series, waitlist', sql: SERIES_WAITLIST_MIGRATION_SQL },
  { version: 7, name: 'move an appointment to another time or doctor', sql: LOCAL_MOVE_SQL },
  { version: 8, name: 'accent-insensitive patient search, rescheduled-to lookup', sql: SEARCH_FOLD_MIGRATION_SQL },
  { version: 9, name: "a patient's visits before the appointment window", sql: HISTORY_MIGRATION_SQL },
];

export const LOCAL_SCHEMA_VERSION = LOCAL_MIGRATIONS[LOCAL_MIGRATIONS.length - 1]!.version;
