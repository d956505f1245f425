// A login starts building the user's role shapes (server/clinic-sync/prepare-shapes.ts), so a
// device's first sync finds them built: each table's shape is registered right after the login,
// before any shape request, and the device's first request gets that very shape (same handle)
// with its full snapshot. A clinician's shapes are their own (their doctor's appointments).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SYNCED_TABLES } from '../../server/clinic-sync/shape-rules.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool, { patients: 30 });
  server = await startSyncTestServer(db, `prepare_on_login_${process.pid}`);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const shapesOf = (scope: string) => server.sync.registry.all().filter((s) => s.runtime.shape.scope === scope);

describe('shapes prepared at login', () => {
  it("registers every synced table's role shape before the device asks, and its first request gets it", async () => {
    expect(shapesOf('receptionist')).toHaveLength(0);
    const desk = new ApiClient(server.url);
    await desk.login(fx.users.receptionist.email, TEST_PASSWORD);
    await waitFor(async () => shapesOf('receptionist').length === SYNCED_TABLES.length, 10_000, 'the shapes');
    const prepared = new Map(shapesOf('receptionist').map((s) => [s.runtime.shape.table, s]));
    expect([...prepared.keys()].sort()).toEqual([...SYNCED_TABLES].sort());

    const res = await fetch(`${server.url}/v1/shape?table=patients&offset=-1`, { headers: { cookie: desk.cookie } });
    expect(res.status).toBe(200);
    expect(res.headers.get('electric-handle')).toBe(prepared.get('patients')!.handle);
    const inserts = ((await res.json()) as Array<{ headers: { operation?: string } }>).filter(
      (m) => m.headers.operation === 'insert',
    );
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM patients WHERE deleted_at IS NULL');
    expect(inserts).toHaveLength(rows[0].n);
    expect(shapesOf('receptionist')).toHaveLength(SYNCED_TABLES.length); // no second shape
  });

  it("a clinician's login prepares the clinician's own shapes", async () => {
    const doctor = new ApiClient(server.url);
    await doctor.login(fx.users.clinicianA.email, TEST_PASSWORD);
    const scope = `clinician (doctor ${fx.doctorA})`;
    // Their own appointments shape (tables whose rows every role gets share the shapes above).
    const ownAppointments = () => shapesOf(scope).find((s) => s.runtime.shape.table === 'appointments');
    await waitFor(async () => !!ownAppointments(), 10_000, "the clinician's appointments shape");
    const res = await fetch(`${server.url}/v1/shape?table=appointments&offset=-1`, {
      headers: { cookie: doctor.cookie },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('electric-handle')).toBe(ownAppointments()!.handle);
  });
});
