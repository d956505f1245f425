// Loads a generated clinic with multi-row INSERT ... SELECT FROM unnest($1::type[], ...):
// one round trip per batch of thousands of rows.
import type { PoolClient } from '../db/pool.js';
import type { GeneratedClinic } from './generate.js';

const BATCH = 5_000;

async function insertColumns(
  tx: PoolClient,
  table: string,
  columns: [name: string, type: string][],
  rows: Record<string, unknown>[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += BATCH) {
    const batch = rows.slice(i, i + BATCH);
    const arrays = columns.map(([name]) => batch.map((r) => r[name] ?? null));
    const unnest = columns.map(([, type], j) => `$${j + 1}::${type}[]`).join(', ');
    // Table and column names come from the constants below, never from input.
    await tx.query(
      `INSERT INTO ${table} (${columns.map(([n]) => n).join(', ')}) SELECT * FROM unnest(${unnest})`,
      arrays,
    );
  }
}

export async function loadClinic(tx: PoolClient, clinic: GeneratedClinic): Promise<void> {
  await insertColumns(
    tx,
    'specializations',
    [
      ['id', 'uuid'],
      ['name', 'text'],
    ],
    clinic.specializations,
  );
  await insertColumns(
    tx,
    'doctors',
    [
      ['id', 'uuid'],
      ['full_name', 'text'],
    ],
    clinic.doctors,
  );
  await insertColumns(
    tx,
    'doctor_specializations',
    [
      ['doctor_id', 'uuid'],
      ['specialization_id', 'uuid'],
    ],
    clinic.doctorSpecializations,
  );
  await insertColumns(
    tx,
    'doctor_hours',
    [
      ['id', 'uuid'],
      ['doctor_id', 'uuid'],
      ['weekday', 'int2'],
      ['start_time', 'time'],
      ['end_time', 'time'],
    ],
    clinic.doctorHours,
  );
  await insertColumns(
    tx,
    'patients',
    [
      ['id', 'uuid'],
      ['full_name', 'text'],
      ['date_of_birth', 'date'],
      ['mrn', 'text'],
      ['phone', 'text'],
      ['email', 'text'],
    ],
    clinic.patients,
  );
  const appointments = clinic.appointments.map((a) => ({
    ...a,
    ends_at: new Date(a.starts_at.getTime() + a.duration_minutes * 60_000),
  }));
  await insertColumns(
    tx,
    'appointments',
    [
      ['id', 'uuid'],
      ['patient_id', 'uuid'],
      ['doctor_id', 'uuid'],
      ['starts_at', 'timestamptz'],
      ['ends_at', 'timestamptz'],
      ['duration_minutes', 'int4'],
      ['status', 'text'],
      ['urgency', 'text'],
      ['reason', 'text'],
      ['cancelled_at', 'timestamptz'],
      ['cancellation_reason', 'text'],
    ],
    appointments,
  );
}
