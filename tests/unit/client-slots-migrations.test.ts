// Free slots computed locally, and local schema upgrades that keep data.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freeSlots, freeSlotsIn } from '../../src/lib/db/queries/slots.js';
import { LOCAL_MIGRATIONS, LOCAL_SCHEMA_VERSION } from '../../src/lib/db/schema/migrations.js';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { clinic, createLocalDb, createLocalDbWith, loadGeneratedClinic } from './client-local-db.js';

const H = 3_600_000;
const M = 60_000;

describe('freeSlotsIn', () => {
  it('steps through each block and skips busy intervals', () => {
    const blocks = [{ start: 8 * H, end: 10 * H }];
    const busy = [{ start: 8 * H + 30 * M, end: 9 * H }];
    const slots = freeSlotsIn(blocks, busy, 30, 15).map((s) => (s.start - 8 * H) / M);
    expect(slots).toEqual([0, 60, 75, 90]);
  });

  it('returns nothing when the duration does not fit', () => {
    expect(freeSlotsIn([{ start: 0, end: 20 * M }], [], 30)).toEqual([]);
  });
});

describe('freeSlots from the replica', () => {
  let db: PGlite;
  const data = clinic({ doctors: 2, patients: 50, appointments: 200, now: new Date('2026-11-20T08:20:00Z') });
  beforeAll(async () => {
    db = await createLocalDbWith(data);
  }, 120_000);
  afterAll(() => db.close());

  it('never offers a slot that overlaps an active appointment, and lets cancelled ones go', async () => {
    const busyDay = data.appointments.find((a) => ['scheduled', 'confirmed'].includes(a.status))!;
    const doctor = busyDay.doctor_id;
    const date = busyDay.starts_at.toISOString().slice(0, 10);
    const slots = await freeSlots(db, doctor, date, 30, 'UTC');
    const active = data.appointments.filter(
      (a) =>
        a.doctor_id === doctor &&
        ['scheduled', 'confirmed'].includes(a.status) &&
        a.starts_at.toISOString().startsWith(date),
    );
    expect(active.length).toBeGreaterThan(0);
    for (const s of slots) {
      const [start, end] = [Date.parse(s.starts_at), Date.parse(s.ends_at)];
      expect(end - start).toBe(30 * M);
      expect(new Date(start).getUTCHours()).toBeGreaterThanOrEqual(8);
      expect(end).toBeLessThanOrEqual(Date.parse(`${date}T17:00:00Z`));
      for (const a of active) {
        const aEnd = a.starts_at.getTime() + a.duration_minutes * M;
        expect(start < aEnd && end > a.starts_at.getTime()).toBe(false);
      }
    }
    // Cancelling the appointment locally frees its time.
    const before = slots.length;
    await db.query(`UPDATE appointments_synced SET status = 'cancelled', cancelled_at = now() WHERE id = $1`, [
      busyDay.id,
    ]);
    expect((await freeSlots(db, doctor, date, 30, 'UTC')).length).toBeGreaterThan(before);
  });

  it('counts the appointment being moved as free: moving it 15 minutes later is offered', async () => {
    const moved = data.appointments.find(
      (a) =>
        ['scheduled', 'confirmed'].includes(a.status) &&
        a.starts_at.getUTCHours() >= 9 &&
        a.starts_at.getUTCHours() < 15,
    )!;
    const date = moved.starts_at.toISOString().slice(0, 10);
    const later = new Date(moved.starts_at.getTime() + 15 * M).toISOString();
    const busyOthers = data.appointments.filter(
      (a) =>
        a.id !== moved.id &&
        a.doctor_id === moved.doctor_id &&
        ['scheduled', 'confirmed', 'checked_in', 'in_progress'].includes(a.status) &&
        a.starts_at.getTime() < Date.parse(later) + moved.duration_minutes * M &&
        a.starts_at.getTime() + a.duration_minutes * M > Date.parse(later),
    );
    const starts = (slots: { starts_at: string }[]) => slots.map((s) => s.starts_at);
    const own = await freeSlots(db, moved.doctor_id, date, moved.duration_minutes, 'UTC', { excludeId: moved.id });
    const plain = await freeSlots(db, moved.doctor_id, date, moved.duration_minutes, 'UTC');
    expect(starts(plain)).not.toContain(moved.starts_at.toISOString());
    expect(starts(own)).toContain(moved.starts_at.toISOString());
    if (busyOthers.length === 0) expect(starts(own)).toContain(later);
  });

  it('has no slots on a day without working hours (Sunday)', async () => {
    expect(await freeSlots(db, data.doctors[0]!.id, '2026-12-06', 30, 'UTC')).toEqual([]);
  });
});

describe('local schema migrations', () => {
  it('migrates a fresh database to the latest version, and a second run does nothing', async () => {
    const db = await PGlite.create({ extensions: { pg_trgm } });
    try {
      expect(await migrateLocal(db)).toEqual(LOCAL_MIGRATIONS.map((m) => m.version));
      expect(await migrateLocal(db)).toEqual([]);
      const { rows } = await db.query<{ v: number }>('SELECT max(version) AS v FROM local_schema_version');
      expect(rows[0]!.v).toBe(LOCAL_SCHEMA_VERSION);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('upgrades an existing database in place and keeps its rows', async () => {
    const db = await createLocalDb();
    try {
      await loadGeneratedClinic(db, clinic({ appointments: 100 }));
      const next = {
        version: LOCAL_SCHEMA_VERSION + 1,
        name: 'test: a new column',
        sql: 'ALTER TABLE appointments_overlay ADD COLUMN note text;',
      };
      expect(await migrateLocal(db, [...LOCAL_MIGRATIONS, next])).toEqual([next.version]);
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM appointments');
      expect(rows[0]!.n).toBe(100);
    } finally {
      await db.close();
    }
  }, 60_000);

  it('rolls back a failing migration and stays at the previous version', async () => {
    const db = await createLocalDb();
    try {
      const bad = { version: LOCAL_SCHEMA_VERSION + 1, name: 'broken', sql: 'CREATE TABLE x (id int); SELECT nope;' };
      await expect(migrateLocal(db, [...LOCAL_MIGRATIONS, bad])).rejects.toThrow();
      const { rows } = await db.query<{ v: number }>('SELECT max(version) AS v FROM local_schema_version');
      expect(rows[0]!.v).toBe(LOCAL_SCHEMA_VERSION);
      expect((await db.query(`SELECT to_regclass('x') AS t`)).rows[0]).toEqual({ t: null });
    } finally {
      await db.close();
    }
  }, 60_000);
});
