// The one-statement local writes of local migration 4 (src/lib/outbox/write-sql.ts) in the
// real local schema (in-memory PGlite): each action is a single statement, refusals and
// conflicts write nothing, the outbox entry is the request that will be sent (dependencies
// included), overlay versions follow the server's rule, and overlay rows written before the
// migration get their versions on upgrade.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { LOCAL_MIGRATIONS } from '../../src/lib/db/schema/migrations.js';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import type { Queryable } from '../../src/lib/db/queries/queryable.js';
import type { OutboxDb } from '../../src/lib/outbox/db.js';
import { enqueue } from '../../src/lib/outbox/enqueue.js';
import {
  bookLocally,
  changeStatusLocally,
  ensureOverlay,
  LocalConflictError,
  LocalWriteError,
  rescheduleLocally,
} from '../../src/lib/outbox/writes.js';
import { clinic, createLocalDbWith, type LocalTestDb } from './client-local-db.js';

const USER = '00000000-0000-4000-8000-000000000002';
const data = clinic({ doctors: 2, patients: 10, appointments: 10, now: new Date('2026-11-20T08:00:00Z') });
const doctor = data.doctors[0]!.id;
const patients = data.patients.map((p) => p.id);
let slot = 0;
const freeStart = () => new Date(Date.UTC(2032, 2, 1, 8) + 30 * 60_000 * slot++).toISOString();

let db: LocalTestDb;
beforeAll(async () => {
  db = await createLocalDbWith(data);
}, 120_000);
afterAll(() => db.close());
beforeEach(async () => {
  await db.exec(
    `DELETE FROM outbox; DELETE FROM appointments_overlay; DELETE FROM appointments_synced WHERE starts_at >= '2032-01-01'`,
  );
});

/** The database as the write path sees it, counting what it sends. */
function counting(inner: LocalTestDb) {
  const sent = { statements: 0, transactions: 0 };
  const wrapped: OutboxDb = {
    query: (sql: string, params?: unknown[]) => {
      sent.statements++;
      return inner.query(sql, params);
    },
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) => {
      sent.transactions++;
      return inner.transaction(fn);
    },
  } as OutboxDb;
  return { db: wrapped, sent };
}

const book = (patient = patients[0]!, start = freeStart()) =>
  bookLocally(db, USER, { patient_id: patient, doctor_id: doctor, starts_at: start, duration_minutes: 30 });

/** A row the server sent (through sync), at a given version. */
async function synced(version: number, status = 'scheduled'): Promise<string> {
  const id = crypto.randomUUID();
  const start = freeStart();
  await db.query(
    `INSERT INTO appointments_synced (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, $5, 'routine', $6)`,
    [id, patients[1], doctor, start, status, version],
  );
  return id;
}

async function versionOf(id: string): Promise<number | null> {
  return (await db.query<{ version: number | null }>('SELECT version FROM appointments WHERE id = $1', [id])).rows[0]!
    .version;
}

async function outboxCount(): Promise<number> {
  return (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n;
}

describe('each local write is one statement', () => {
  it('book, status change, cancel and reschedule: one statement each, no client-side transaction', async () => {
    const { db: counted, sent } = counting(db);
    const base = { patient_id: patients[0]!, doctor_id: doctor, duration_minutes: 30 };
    const id = await bookLocally(counted, USER, { ...base, starts_at: freeStart() });
    await changeStatusLocally(counted, USER, id, 'confirmed');
    await rescheduleLocally(counted, USER, id, { starts_at: freeStart() });
    const other = await bookLocally(counted, USER, { ...base, patient_id: patients[2]!, starts_at: freeStart() });
    await changeStatusLocally(counted, USER, other, 'cancelled', 'ill');
    expect(sent).toEqual({ statements: 5, transactions: 0 });
    expect(await outboxCount()).toBe(5);
  });

  it('a refusal writes nothing and says why', async () => {
    const id = await book();
    const before = await db.query('SELECT * FROM appointments_overlay');
    await expect(changeStatusLocally(db, USER, id, 'completed')).rejects.toThrow(
      new LocalWriteError('An appointment that is scheduled cannot become completed.'),
    );
    await expect(changeStatusLocally(db, USER, crypto.randomUUID(), 'confirmed')).rejects.toThrow(
      new LocalWriteError('This appointment is not on this device.'),
    );
    await changeStatusLocally(db, USER, id, 'checked_in');
    await expect(rescheduleLocally(db, USER, id, { starts_at: freeStart() })).rejects.toThrow(
      new LocalWriteError('An appointment that is checked_in cannot be moved.'),
    );
    expect(await outboxCount()).toBe(2);
    expect((await db.query('SELECT * FROM appointments_overlay')).rows).toHaveLength(before.rows.length);
  });

  it('an overlapping booking or move is reported with the conflicting rows and writes nothing', async () => {
    const start = freeStart();
    const first = await book(patients[0], start);
    const err = await book(patients[3], start).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LocalConflictError);
    expect((err as LocalConflictError).conflicts).toEqual([
      { id: first, starts_at: expect.any(String), ends_at: expect.any(String), same_doctor: true },
    ]);
    expect(Date.parse((err as LocalConflictError).conflicts[0]!.starts_at)).toBe(Date.parse(start));
    const second = await book(patients[4]);
    const move = await rescheduleLocally(db, USER, second, { starts_at: start }).catch((e: unknown) => e);
    expect(move).toBeInstanceOf(LocalConflictError);
    expect(await outboxCount()).toBe(2);
    // moving within its own slot is no conflict with itself
    const overlay = await db.query<{ starts_at: Date }>('SELECT starts_at FROM appointments_overlay WHERE id = $1', [
      second,
    ]);
    await rescheduleLocally(db, USER, second, { starts_at: overlay.rows[0]!.starts_at.toISOString() });
    expect(await outboxCount()).toBe(3);
  });
});

describe('the queued request', () => {
  it('a reschedule keeps the old duration and says so in the request; the new row depends on nothing synced', async () => {
    const id = await synced(3);
    const start = freeStart();
    const newId = await rescheduleLocally(db, USER, id, { starts_at: start });
    const entry = (
      await db.query<{ body: Record<string, unknown>; depends_on: string | null; kind: string; result_id: string }>(
        'SELECT body, depends_on, kind, result_id FROM outbox WHERE id = $1',
        [newId],
      )
    ).rows[0]!;
    expect(entry).toEqual({
      kind: 'reschedule',
      result_id: newId,
      depends_on: null,
      body: { new_id: newId, starts_at: start, duration_minutes: 30 },
    });
    const row = await db.query<{ ends_at: Date; rescheduled_from: string }>(
      'SELECT ends_at, rescheduled_from FROM appointments WHERE id = $1',
      [newId],
    );
    expect(row.rows[0]!.ends_at.getTime()).toBe(Date.parse(start) + 30 * 60_000);
    expect(row.rows[0]!.rescheduled_from).toBe(id);
  });

  it('a booking of a patient created on this device depends on that patient entry', async () => {
    const patientKey = crypto.randomUUID();
    await db.transaction((tx) =>
      enqueue(tx, USER, {
        kind: 'patient_create',
        key: patientKey,
        entityId: patients[5]!,
        resultId: patients[5]!,
        method: 'POST',
        path: '/api/patients',
        body: {},
      }),
    );
    const id = await book(patients[5]);
    const status = await db.query<{ depends_on: string | null }>('SELECT depends_on FROM outbox WHERE id = $1', [id]);
    expect(status.rows[0]!.depends_on).toBe(patientKey);
    await changeStatusLocally(db, USER, id, 'confirmed');
    const after = await db.query<{ depends_on: string }>(
      `SELECT depends_on FROM outbox WHERE kind = 'status' AND entity_id = $1`,
      [id],
    );
    expect(after.rows[0]!.depends_on).toBe(id);
  });
});

describe('overlay versions follow the server: +1 per change, new rows at 1', () => {
  it('changes to a synced row bump the version it had', async () => {
    const id = await synced(3);
    await changeStatusLocally(db, USER, id, 'confirmed');
    expect(await versionOf(id)).toBe(4);
    await changeStatusLocally(db, USER, id, 'checked_in');
    expect(await versionOf(id)).toBe(5);
    await changeStatusLocally(db, USER, id, 'cancelled', 'went home');
    expect(await versionOf(id)).toBe(6);
  });

  it('a booking starts at 1 and each change adds one', async () => {
    const id = await book();
    expect(await versionOf(id)).toBe(1);
    await changeStatusLocally(db, USER, id, 'confirmed');
    expect(await versionOf(id)).toBe(2);
  });

  it('a reschedule bumps the old row and starts the new one at 1', async () => {
    const id = await synced(7, 'confirmed');
    const newId = await rescheduleLocally(db, USER, id, { starts_at: freeStart() });
    expect(await versionOf(id)).toBe(8);
    expect(await versionOf(newId)).toBe(1);
    await changeStatusLocally(db, USER, newId, 'no_show');
    expect(await versionOf(newId)).toBe(2);
  });

  it('ensureOverlay (for other write modules) copies a synced row once, keeping its version', async () => {
    const id = await synced(4);
    await db.transaction(async (tx) => {
      await ensureOverlay(tx, id);
      await tx.query(`UPDATE appointments_overlay SET reason = 'edited' WHERE id = $1`, [id]);
      await ensureOverlay(tx, id);
    });
    const { rows } = await db.query('SELECT reason, version, pending FROM appointments WHERE id = $1', [id]);
    expect(rows).toEqual([{ reason: 'edited', version: 4, pending: true }]);
  });

  it('upgrading to migration 4 gives overlay rows written before it their versions', async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const old = await PGlite.create({ extensions: { pg_trgm } });
    await migrateLocal(
      old,
      LOCAL_MIGRATIONS.filter((m) => m.version <= 3),
    );
    const [booked, copied] = [crypto.randomUUID(), crypto.randomUUID()];
    // As the write path of version 3 left them: a booking (no version) then confirmed, and a
    // synced row at version 5 copied into the overlay, checked in, then cancelled.
    await old.exec(`
      INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, version) VALUES
        ('${booked}', '${patients[0]}', '${doctor}', now(), now() + interval '30 min', 30, 'confirmed', 'routine', NULL),
        ('${copied}', '${patients[1]}', '${doctor}', now(), now() + interval '30 min', 30, 'cancelled', 'routine', 5);
      INSERT INTO outbox (id, kind, entity_id, result_id, method, path, body, user_id, schema_version) VALUES
        ('${booked}', 'book', '${booked}', '${booked}', 'POST', '/api/appointments', '{}', '${USER}', 3),
        (gen_random_uuid(), 'status', '${booked}', NULL, 'POST', '/x', '{}', '${USER}', 3),
        (gen_random_uuid(), 'status', '${copied}', NULL, 'POST', '/x', '{}', '${USER}', 3),
        (gen_random_uuid(), 'cancel', '${copied}', NULL, 'POST', '/x', '{}', '${USER}', 3);
    `);
    expect(
      await migrateLocal(
        old,
        LOCAL_MIGRATIONS.filter((m) => m.version <= 4),
      ),
    ).toEqual([4]);
    const { rows } = await old.query<{ id: string; version: number }>('SELECT id, version FROM appointments_overlay');
    expect(Object.fromEntries(rows.map((r) => [r.id, r.version]))).toEqual({ [booked]: 2, [copied]: 7 });
    await old.close();
  }, 120_000);
});
