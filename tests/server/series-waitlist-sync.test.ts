// A device's replica (PGlite with the real local schema and the app's own shape definitions,
// pglite-sync against the real sync service): series occurrences arrive with their series_id,
// and the waitlist reaches every receptionist's device live: an offer made on the server
// (a slot freed) shows on the Waitlist screen's query, and a booked entry leaves it.
import { randomUUID } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { electricSync } from '@electric-sql/pglite-sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateLocal } from '../../src/lib/db/schema/migrate.js';
import { shapeDefinitions } from '../../src/lib/sync/shapes.js';
import { waitlistQuery, type WaitlistRow } from '../../src/lib/waitlist/queries.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { cookieFetch } from '../setup/shape-clients.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let desk: ApiClient;
let clinician: ApiClient;

async function replica(cookie: string, key: string) {
  const local = await PGlite.create({ extensions: { pg_trgm, electric: electricSync() } });
  await migrateLocal(local);
  const defs = shapeDefinitions(`${server.url}/v1/shape`, (table, error) =>
    console.error(`shape ${table} failed`, error),
  ) as Record<string, { shape: Record<string, unknown> }>;
  for (const d of Object.values(defs)) d.shape.fetchClient = cookieFetch(cookie);
  let initial = false;
  const sub = await local.electric.syncShapesToTables({
    key,
    shapes: defs as never,
    onInitialSync: () => {
      initial = true;
    },
  });
  await waitFor(() => initial, 60_000, 'initial sync');
  return {
    local,
    async close() {
      sub.unsubscribe();
      await local.close();
    },
  };
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool, { patients: 6 });
  server = await startSyncTestServer(db, `series_waitlist_${process.pid}`);
  desk = new ApiClient(server.url);
  await desk.login(fx.users.receptionist.email, TEST_PASSWORD);
  clinician = new ApiClient(server.url);
  await clinician.login(fx.users.clinicianB.email, TEST_PASSWORD);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const monday = (week: number, time = '09:00') =>
  new Date(Date.UTC(2033, 0, 3 + 7 * week, +time.slice(0, 2), +time.slice(3))).toISOString();

describe('series and waitlist on the device', () => {
  it('occurrences sync with series_id; waitlist offers and closes arrive live on each front-desk replica', async () => {
    // Set up side by side: a fresh local schema takes a while on a loaded machine.
    const [a, b, doc] = await Promise.all([
      replica(desk.cookie!, 'desk-a'),
      replica(desk.cookie!, 'desk-b'),
      replica(clinician.cookie!, 'clinician-b'),
    ]);
    try {
      const seriesId = randomUUID();
      const series = await desk.post('/api/series', {
        id: seriesId,
        patient_id: fx.patients[0],
        doctor_id: fx.doctorA,
        starts_at: monday(0),
        duration_minutes: 30,
        rrule: 'FREQ=WEEKLY;COUNT=3',
      });
      expect(series.status).toBe(201);
      const seriesRows = () =>
        a.local.query<{ id: string }>('SELECT id FROM appointments WHERE series_id = $1', [seriesId]);
      await waitFor(async () => (await seriesRows()).rows.length === 3, 20_000, 'series rows');

      const entry = {
        id: randomUUID(),
        patient_id: fx.patients[1],
        doctor_id: fx.doctorA,
        earliest_date: monday(0).slice(0, 10),
        latest_date: monday(3).slice(0, 10),
        urgency: 'urgent',
        duration_minutes: 30,
      };
      expect((await desk.post('/api/waitlist', entry)).status).toBe(201);
      const q = waitlistQuery();
      const read = async (r: { local: PGlite }) => (await r.local.query<WaitlistRow>(q.sql, q.params)).rows;
      for (const r of [a, b]) await waitFor(async () => (await read(r)).length === 1, 20_000, 'entry on the replica');
      expect((await read(a))[0]!.offers).toEqual([]);
      // The clinician of doctor B does not get doctor A's waiting entries.
      expect(await read(doc)).toEqual([]);

      // Cancelling the second occurrence frees its slot: both desks see the offer.
      const occurrence = series.body.occurrences[1].id;
      expect((await desk.post(`/api/appointments/${occurrence}/cancel`, { reason: 'away' })).status).toBe(200);
      for (const r of [a, b]) {
        await waitFor(async () => (await read(r))[0]?.offers.length === 1, 20_000, 'offer on the replica');
      }
      const offer = (await read(b))[0]!.offers[0]!;
      expect(offer).toMatchObject({ doctor_id: fx.doctorA, starts_at: monday(1), doctor_name: 'Dr. Alice Able' });

      // One tap on device b books it; the entry leaves both replicas.
      const booked = await desk.post(`/api/waitlist/${entry.id}/book`, {
        appointment_id: randomUUID(),
        doctor_id: offer.doctor_id,
        starts_at: offer.starts_at,
      });
      expect(booked.status).toBe(201);
      for (const r of [a, b]) await waitFor(async () => (await read(r)).length === 0, 20_000, 'entry closed');
    } finally {
      await Promise.all([a.close(), b.close(), doc.close()]);
    }
  }, 300_000);
});
