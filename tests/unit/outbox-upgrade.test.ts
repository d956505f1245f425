// An installed app at local schema 2 (the first outbox) with writes still pending upgrades to
// the current schema: the entries stay, are sent as they were queued, and are confirmed.
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_MIGRATIONS, LOCAL_SCHEMA_VERSION } from '../../src/lib/db/schema/migrations.js';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { confirmAccepted } from '../../src/lib/outbox/confirm.js';
import { sendPass, type OutboxRequest } from '../../src/lib/outbox/sender.js';

const USER = '00000000-0000-4000-8000-000000000001';
const DOCTOR = '00000000-0000-4000-8000-0000000000d1';
const PATIENT = '00000000-0000-4000-8000-0000000000a1';
const BOOKING = '00000000-0000-4000-8000-0000000000b1';

let db: PGlite;
beforeAll(async () => {
  db = await PGlite.create({ extensions: { pg_trgm } });
  await migrateLocal(
    db,
    LOCAL_MIGRATIONS.filter((m) => m.version <= 2),
  );
  // What version 2 of the app wrote for an offline booking: overlay row + outbox entry.
  await db.query(
    `INSERT INTO appointments_overlay (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency)
     VALUES ($1, $2, $3, '2031-03-03T09:00:00Z', '2031-03-03T09:30:00Z', 30, 'scheduled', 'routine')`,
    [BOOKING, PATIENT, DOCTOR],
  );
  await db.query(
    `INSERT INTO outbox (id, kind, entity_id, result_id, method, path, body, user_id, schema_version)
     VALUES ($1, 'book', $1, $1, 'POST', '/api/appointments', $2, $3, 2)`,
    [
      BOOKING,
      JSON.stringify({ id: BOOKING, patient_id: PATIENT, doctor_id: DOCTOR, starts_at: '2031-03-03T09:00:00.000Z' }),
      USER,
    ],
  );
}, 120_000);
afterAll(() => db.close());

describe('local schema upgrade with pending writes', () => {
  it('keeps the entry, sends it as queued and confirms it on the new schema', async () => {
    expect(await migrateLocal(db)).toEqual(LOCAL_MIGRATIONS.filter((m) => m.version > 2).map((m) => m.version));
    const kept = await db.query<{ state: string; schema_version: number; confirm_table: string }>(
      'SELECT state, schema_version, confirm_table FROM outbox',
    );
    expect(kept.rows).toEqual([{ state: 'pending', schema_version: 2, confirm_table: 'appointments' }]);

    const sent: OutboxRequest[] = [];
    await sendPass(db, async (req) => {
      sent.push(req);
      return { status: 201, retryAfter: null, json: { appointment: { id: BOOKING, version: 1 }, txid: 7 } };
    });
    expect(sent.map((r) => [r.method, r.path, r.idempotencyKey, (r.body as { id: string }).id])).toEqual([
      ['POST', '/api/appointments', BOOKING, BOOKING],
    ]);

    // Sync brings the server's row: the entry and the overlay go, the row shows "confirmed".
    await db.query(
      `INSERT INTO appointments_synced SELECT id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency,
         reason, clinical_notes, cancelled_by, cancelled_at, cancellation_reason, rescheduled_from, created_by, created_at,
         updated_at, deleted_at, 1 FROM appointments_overlay WHERE id = $1`,
      [BOOKING],
    );
    expect(await confirmAccepted(db)).toBe(1);
    expect((await db.query('SELECT 1 FROM outbox')).rows).toHaveLength(0);
    expect((await db.query('SELECT 1 FROM appointments_overlay')).rows).toHaveLength(0);
    expect((await db.query('SELECT entity_id FROM recent_confirmations')).rows).toEqual([{ entity_id: BOOKING }]);
    expect((await db.query<{ v: number }>('SELECT max(version) AS v FROM local_schema_version')).rows[0]!.v).toBe(
      LOCAL_SCHEMA_VERSION,
    );
  });
});
