// Snapshot/stream hand-off: transactions in progress while a snapshot is taken, and a stream
// of writes committing around it, reach the client exactly once.
import { randomUUID } from 'node:crypto';
import { isChangeMessage, type Message, type Row } from '@electric-sql/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { shapeOf } from '../setup/shape-clients.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let slot = 0;

const insertSql = `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
  VALUES ($1, $2, $3, $4, $4::timestamptz + interval '5 minutes', 5)`;
const args = () => [
  randomUUID(),
  fx.patients[slot % 6],
  slot % 2 ? fx.doctorA : fx.doctorB,
  new Date(Date.UTC(2033, 0, 1) + slot++ * 600_000),
];

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  for (let i = 0; i < 300; i++) await db.pool.query(insertSql, args());
  server = await startSyncTestServer(db, 'sync_race_test');
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

it('loses and duplicates nothing across the snapshot hand-off', async () => {
  const api = new ApiClient(server.url);
  await api.login(fx.users.admin.email, TEST_PASSWORD);
  // A transaction that wrote before the snapshot but commits after it (it is in xip).
  const open = await db.pool.connect();
  await open.query('BEGIN');
  const inFlight = args();
  await open.query(insertSql, inFlight);
  await open.query(
    `UPDATE appointments SET reason = 'touched in flight' WHERE id = (SELECT id FROM appointments ORDER BY id LIMIT 1)`,
  );

  let writing = true;
  const writers = [0, 1].map(async () => {
    while (writing) {
      await db.pool.query(insertSql, args());
      await db.pool.query(
        `UPDATE appointments SET status = 'confirmed', version = version + 1 WHERE id = (SELECT id FROM appointments WHERE status = 'scheduled' ORDER BY random() LIMIT 1)`,
      );
    }
  });
  const { stream, shape } = shapeOf(server.url, api.cookie, { table: 'appointments' });
  const inserts = new Map<string, number>();
  stream.subscribe((messages: Message<Row>[]) => {
    for (const m of messages)
      if (isChangeMessage(m) && m.headers.operation === 'insert') inserts.set(m.key, (inserts.get(m.key) ?? 0) + 1);
  });
  await shape.rows;
  await open.query('COMMIT');
  open.release();
  await new Promise((r) => setTimeout(r, 300));
  writing = false;
  await Promise.all(writers);

  const want = async () =>
    JSON.stringify(
      (await db.pool.query(`SELECT id, status, reason FROM appointments WHERE deleted_at IS NULL ORDER BY id`)).rows,
    );
  const have = () =>
    JSON.stringify(
      shape.currentRows
        .map((r) => ({ id: r.id, status: r.status, reason: r.reason }))
        .sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1)),
    );
  const expected = await want();
  await waitFor(() => have() === expected, 15_000, 'convergence');
  expect(shape.currentRows.some((r) => r.id === inFlight[0])).toBe(true);
  expect([...inserts.values()].every((n) => n === 1)).toBe(true);
  stream.unsubscribeAll();
});
