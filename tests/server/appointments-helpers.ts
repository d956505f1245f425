// Shared set-up of the appointment, booking, doctor and patient tests: a cloned database with
// the fixture clinic, the real HTTP server, and one logged-in client per role.
import { randomUUID } from 'node:crypto';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

export interface Clinic {
  db: TestDatabase;
  fixture: Fixture;
  server: TestServer;
  admin: ApiClient;
  receptionist: ApiClient;
  clinicianA: ApiClient;
  clinicianB: ApiClient;
  /** Sets the clock the server's scheduling rules read (null: real time). */
  setNow(at: Date | string | null): void;
  close(): Promise<void>;
}

export async function openClinic({ patients = 6, env = {} as Record<string, string> } = {}): Promise<Clinic> {
  const db = await createTestDatabase();
  const fixture = await createFixture(db.pool, { patients });
  let clockAt: Date | null = null;
  const server = await startTestServer(db, env, (deps) => ({ ...deps, now: () => clockAt ?? new Date() }));
  const login = async (email: string) => {
    const client = new ApiClient(server.url);
    await client.login(email, TEST_PASSWORD);
    return client;
  };
  const [admin, receptionist, clinicianA, clinicianB] = await Promise.all([
    login(fixture.users.admin.email),
    login(fixture.users.receptionist.email),
    login(fixture.users.clinicianA.email),
    login(fixture.users.clinicianB.email),
  ]);
  return {
    db,
    fixture,
    server,
    admin,
    receptionist,
    clinicianA,
    clinicianB,
    setNow(at) {
      clockAt = at === null ? null : new Date(at);
    },
    async close() {
      await server.close();
      await db.drop();
    },
  };
}

/** A Monday far enough ahead that "now" never matters; the fixture's hours are Mon–Fri 08–17 UTC. */
export const MONDAY = '2030-01-07';
export const at = (time: string, date = MONDAY) => `${date}T${time}:00.000Z`;

export function booking(fixture: Fixture, overrides: Record<string, unknown> = {}) {
  return {
    id: randomUUID(),
    patient_id: fixture.patients[0],
    doctor_id: fixture.doctorA,
    starts_at: at('09:00'),
    duration_minutes: 30,
    urgency: 'routine',
    ...overrides,
  };
}
