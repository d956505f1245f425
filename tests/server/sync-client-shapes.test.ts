// Shapes clients define themselves (their own where/columns) are bounded: a few live ones per
// user, a ceiling per table, a short idle life; the shared role shapes are not limited. Their
// storage (snapshot included) shows in the status report behind the admin page and /metrics.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;

async function cookieOf(email: string) {
  const c = new ApiClient(server.url);
  await c.login(email, TEST_PASSWORD);
  return c.cookie;
}

async function shapeGet(cookie: string, query: string) {
  const res = await fetch(`${server.url}/v1/shape?${query}`, { headers: { cookie } });
  return { status: res.status, headers: res.headers, body: await res.json().catch(() => undefined) };
}

const narrowed = (id = randomUUID()) => `table=patients&offset=-1&where=${encodeURIComponent(`id <> '${id}'`)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startSyncTestServer(db, 'sync_client_shapes_test', {
    SYNC_CLIENT_SHAPES_PER_USER: '3',
    SYNC_CLIENT_SHAPES_PER_TABLE: '5',
    ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD: '3000',
  });
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('client-defined shapes', () => {
  it('limits distinct live shapes per user and per table with a clear 429, never the role shapes', async () => {
    const reception = await cookieOf(fx.users.receptionist.email);
    const admin = await cookieOf(fx.users.admin.email);
    const mine = [randomUUID(), randomUUID(), randomUUID()];
    for (const id of mine) expect((await shapeGet(reception, narrowed(id))).status).toBe(200);
    const fourth = await shapeGet(reception, narrowed());
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBeTruthy();
    expect(fourth.body.errors.where[0]).toMatch(/custom shapes/);
    // Columns narrow too.
    expect((await shapeGet(reception, 'table=appointments&offset=-1&columns=id,status')).status).toBe(429);
    // Asking again for one the user has is fine, and so are the role's own shapes.
    expect((await shapeGet(reception, narrowed(mine[0]))).status).toBe(200);
    expect((await shapeGet(reception, 'table=patients&offset=-1')).status).toBe(200);
    expect((await shapeGet(reception, 'table=appointments&offset=-1')).status).toBe(200);

    // The table holds 5 client shapes in all: the admin gets two more, then a table-wide 429.
    expect((await shapeGet(admin, narrowed())).status).toBe(200);
    expect((await shapeGet(admin, narrowed())).status).toBe(200);
    const full = await shapeGet(admin, narrowed());
    expect(full.status).toBe(429);
    expect(full.body.errors.where[0]).toMatch(/table patients/);
    // An existing definition is shared, not a new one: the admin may join the receptionist's.
    expect((await shapeGet(admin, narrowed(mine[1]))).status).toBe(200);
  });

  it('expires idle client shapes long before role shapes, and counts snapshot storage', async () => {
    const reception = await cookieOf(fx.users.receptionist.email);
    const role = await shapeGet(reception, 'table=patients&offset=-1');
    const roleHandle = role.headers.get('electric-handle')!;
    const report = (await server.deps.syncStatus!()).find((s) => s.handle === roleHandle)!;
    // Six patients' rows are stored as the snapshot: storage is not just the change log.
    expect(report.log_bytes).toBeGreaterThan(6 * 100);

    const narrowedCount = () => server.sync.registry.all().filter((s) => s.runtime.shape.narrowed).length;
    expect(narrowedCount()).toBeGreaterThan(0);
    // Two hours later with nobody asking: client shapes are gone, the role shapes stay.
    await server.sync.expireIdle(Date.now() + 2 * 60 * 60 * 1000);
    expect(narrowedCount()).toBe(0);
    expect(server.sync.registry.byHandle.has(roleHandle)).toBe(true);
    const { rows } = await db.pool.query(
      `SELECT count(*)::int AS n FROM sync_shapes WHERE definition->>'narrowed' = 'true'`,
    );
    expect(rows[0].n).toBe(0);
    // With its shapes expired, the receptionist may define new ones again.
    expect((await shapeGet(reception, narrowed())).status).toBe(200);
  });
});

describe('chunk size threshold', () => {
  it('cuts answers at ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD', async () => {
    await db.pool.query(`INSERT INTO doctors (full_name) SELECT 'Dr. Chunk ' || i FROM generate_series(1, 4500) i`);
    const admin = await cookieOf(fx.users.admin.email);
    let r = await shapeGet(admin, 'table=doctors&offset=-1');
    const handle = r.headers.get('electric-handle')!;
    let chunks = 1;
    let rows = r.body.filter((m: { key?: string }) => m.key).length;
    while (!r.headers.has('electric-up-to-date')) {
      r = await shapeGet(admin, `table=doctors&offset=${r.headers.get('electric-offset')}&handle=${handle}`);
      rows += r.body.filter((m: { key?: string }) => m.key).length;
      chunks++;
    }
    const { rows: all } = await db.pool.query('SELECT count(*)::int AS n FROM doctors');
    expect(rows).toBe(all[0].n);
    // The log is read in pages of 2,000 messages; a chunk ends after the page that reaches the
    // threshold. With the 10 MiB default all 4,500 rows would come in one answer.
    expect(chunks).toBeGreaterThanOrEqual(3);
  });
});
