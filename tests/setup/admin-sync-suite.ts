// The set-up the consistency tests share: a database of their own with the fixture, the app
// with its sync service on a slot of the file's own, an admin's session cookie (admins may read
// every shape) and a small extra pool for writers. Call at the top of a test file; the fields
// are filled once `beforeAll` has run, so read them inside tests.
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from './fixtures.js';
import { ApiClient } from './server.js';
import { startSyncTestServer, type SyncTestServer } from './sync.js';

export interface AdminSyncSuite {
  db: TestDatabase;
  server: SyncTestServer;
  fx: Fixture;
  /** The admin's session cookie. */
  cookie: string;
  /** Up to three connections of their own, for concurrent writers. */
  pool: pg.Pool;
}

export function adminSyncSuite(slotName: string, env: Record<string, string> = {}): AdminSyncSuite {
  const suite = {} as AdminSyncSuite;
  beforeAll(async () => {
    suite.db = await createTestDatabase();
    suite.fx = await createFixture(suite.db.pool);
    suite.server = await startSyncTestServer(suite.db, slotName, env);
    const api = new ApiClient(suite.server.url);
    await api.login(suite.fx.users.admin.email, TEST_PASSWORD);
    suite.cookie = api.cookie;
    suite.pool = new pg.Pool({ connectionString: suite.db.url, max: 3 });
  });
  afterAll(async () => {
    await suite.pool?.end();
    await suite.server?.close();
    await suite.db?.drop();
  });
  return suite;
}
