// The synced tables of the local replica: one per server table the shape service serves.
// Column lists are the single source for the local DDL, the sync column mapping and the
// merged views, so a column is added in one place (plus a migration).

export interface SyncedTable {
  /** Server table name, as sent in `GET /v1/shape?table=`. */
  shape: string;
  /** Local table written only by sync. */
  local: string;
  primaryKey: string[];
  /** Local columns in order; the server may send fewer (e.g. no clinical_notes). */
  columns: string[];
}

export const SYNCED_TABLES = {
  doctors: {
    shape: 'doctors',
    local: 'doctors_synced',
    primaryKey: ['id'],
    columns: ['id', 'full_name', 'active', 'created_at', 'updated_at'],
  },
  specializations: {
    shape: 'specializations',
    local: 'specializations_synced',
    primaryKey: ['id'],
    columns: ['id', 'name'],
  },
  doctor_specializations: {
    shape: 'doctor_specializations',
    local: 'doctor_specializations_synced',
    primaryKey: ['doctor_id', 'specialization_id'],
    columns: ['doctor_id', 'specialization_id'],
  },
  doctor_hours: {
    shape: 'doctor_hours',
    local: 'doctor_hours_synced',
    primaryKey: ['id'],
    columns: ['id', 'doctor_id', 'weekday', 'start_time', 'end_time'],
  },
  patients: {
    shape: 'patients',
    local: 'patients_synced',
    primaryKey: ['id'],
    columns: ['id', 'full_name', 'date_of_birth', 'mrn', 'phone', 'email', 'created_at', 'updated_at', 'deleted_at'],
  },
  appointments: {
    shape: 'appointments',
    local: 'appointments_synced',
    primaryKey: ['id'],
    columns: [
      'id',
      'patient_id',
      'doctor_id',
      'starts_at',
      'ends_at',
      'duration_minutes',
      'status',
      'urgency',
      'reason',
      'clinical_notes',
      'cancelled_by',
      'cancelled_at',
      'cancellation_reason',
      'rescheduled_from',
      'created_by',
      'created_at',
      'updated_at',
      'deleted_at',
      'version',
      'type_id',
      'buffer_before_minutes',
      'buffer_after_minutes',
      // local migration 6
      'series_id',
    ],
  },
  // Waiting entries only (the server's shape): the Waitlist screen reads them offline.
  waitlist_entries: {
    shape: 'waitlist_entries',
    local: 'waitlist_entries_synced',
    primaryKey: ['id'],
    columns: [
      'id',
      'patient_id',
      'doctor_id',
      'specialization_id',
      'earliest_date',
      'latest_date',
      'time_of_day',
      'urgency',
      'duration_minutes',
      'note',
      'status',
      'offers',
      'created_by',
      'created_at',
      'updated_at',
    ],
  },
  appointment_types: {
    shape: 'appointment_types',
    local: 'appointment_types_synced',
    primaryKey: ['id'],
    columns: [
      'id',
      'name',
      'default_duration_minutes',
      'colour',
      'buffer_before_minutes',
      'buffer_after_minutes',
      'active',
      'created_at',
      'updated_at',
    ],
  },
  appointment_type_doctors: {
    shape: 'appointment_type_doctors',
    local: 'appointment_type_doctors_synced',
    primaryKey: ['type_id', 'doctor_id'],
    columns: ['type_id', 'doctor_id'],
  },
} as const satisfies Record<string, SyncedTable>;

export type SyncedTableName = keyof typeof SYNCED_TABLES;
export const SYNCED_TABLE_NAMES = Object.keys(SYNCED_TABLES) as SyncedTableName[];

export const ACTIVE_STATUSES = ['scheduled', 'confirmed', 'checked_in', 'in_progress'] as const;
export const STATUSES = [...ACTIVE_STATUSES, 'completed', 'cancelled', 'no_show', 'rescheduled'] as const;
export const URGENCIES = ['routine', 'urgent', 'emergency'] as const;
export type AppointmentStatus = (typeof STATUSES)[number];
export type Urgency = (typeof URGENCIES)[number];
