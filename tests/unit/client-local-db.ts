// An in-memory PGlite with the real local schema, filled the way sync fills it (rows into the
// *_synced tables), for the client query tests and the Node side of the client benchmark.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { live, type PGliteWithLive } from '@electric-sql/pglite/live';
import { generateClinic, type ClinicSpec, type GeneratedClinic } from '../../server/seed/generate.js';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { SYNCED_TABLES } from '../../src/lib/db/schema/tables.js';

const COLUMNS_OF: Record<string, readonly string[]> = Object.fromEntries(
  Object.values(SYNCED_TABLES).map((t) => [t.local, t.columns]),
);

export type LocalTestDb = PGlite & PGliteWithLive;

export async function createLocalDb(): Promise<LocalTestDb> {
  const db = (await PGlite.create({ extensions: { pg_trgm, live } })) as unknown as LocalTestDb;
  await migrateLocal(db);
  return db;
}

async function insertJson(db: PGlite, table: string, rows: object[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 10_000) {
    // Table names come from the constant calls below; the rows travel as one JSON parameter.
    const cols = COLUMNS_OF[table]!.join(', ');
    await db.query(
      `INSERT INTO ${table} (${cols}) SELECT ${cols} FROM json_populate_recordset(NULL::${table}, $1::json)`,
      [JSON.stringify(rows.slice(i, i + 10_000))],
    );
  }
}

/** A local database holding `clinic`, as after a first sync. */
export async function createLocalDbWith(clinic: GeneratedClinic): Promise<LocalTestDb> {
  const db = await createLocalDb();
  await loadGeneratedClinic(db, clinic);
  return db;
}

export async function loadGeneratedClinic(db: PGlite, clinic: GeneratedClinic): Promise<void> {
  await insertJson(db, 'specializations_synced', clinic.specializations);
  await insertJson(
    db,
    'doctors_synced',
    clinic.doctors.map((d) => ({ ...d, active: true })),
  );
  await insertJson(db, 'doctor_specializations_synced', clinic.doctorSpecializations);
  await insertJson(db, 'doctor_hours_synced', clinic.doctorHours);
  await insertJson(db, 'patients_synced', clinic.patients);
  await insertJson(
    db,
    'appointments_synced',
    clinic.appointments.map((a) => ({
      ...a,
      ends_at: new Date(a.starts_at.getTime() + a.duration_minutes * 60_000),
      version: 1,
    })),
  );
  await db.exec('ANALYZE');
}

export function clinic(spec: Partial<ClinicSpec> = {}): GeneratedClinic {
  return generateClinic({ doctors: 4, patients: 200, appointments: 1_000, seed: 7, timeZone: 'UTC', ...spec });
}
