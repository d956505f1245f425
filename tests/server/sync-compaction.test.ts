// Compaction of a shape log with the official client: partial updates (replica=default) folded
// into one insert per key, deleted keys dropped; a live client and a client resuming past the
// horizon carry on without a refetch, a client resuming inside the folded range refetches
// (409), a fresh client gets the database's rows, and all of them equal SQL.
import { randomUUID } from 'node:crypto';
import { isChangeMessage, isControlMessage, ShapeStream, type Message, type Row } from '@electric-sql/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { compactShapeLog, isCompactedAway, loadCompactionMarks } from '../../server/sync/compaction.js';
import { newShapeState } from '../../server/sync/shape-registry.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { cookieFetch } from '../setup/shape-clients.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;
let cookie = '';
let slot = 0;

const insert = () =>
  db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30)`,
    [randomUUID(), fx.patients[slot % 6], fx.doctorA, new Date(Date.UTC(2034, 5, 1) + slot++ * 3_600_000)],
  );
const ids = async () =>
  (await db.pool.query<{ id: string }>('SELECT id FROM appointments ORDER BY starts_at')).rows.map((r) => r.id);
const update = (id: string, set: string) => db.pool.query(`UPDATE appointments SET ${set} WHERE id = $1`, [id]);

/** The database's rows as the client holds them: id → the columns that change here. */
async function sqlRows(): Promise<string> {
  const { rows } = await db.pool.query(
    `SELECT id, status, reason, urgency, version FROM appointments WHERE deleted_at IS NULL ORDER BY id`,
  );
  return JSON.stringify(rows.map((r) => [r.id, r.status, r.reason, r.urgency, String(r.version)]));
}
type Held = Map<string, Row>;
const heldRows = (held: Held) =>
  JSON.stringify(
    [...held.values()]
      .map((r) => [r.id, r.status, r.reason, r.urgency, String(r.version)])
      .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
  );

/** A client applying every message to `held`, as the app's replica does. */
function follow(held: Held, resume?: { offset: string; handle: string }) {
  const counts = { refetches: 0, upToDate: 0, duplicateInserts: 0, updatesOfMissing: 0 };
  const stream = new ShapeStream<Row>({
    url: `${server.url}/v1/shape`,
    params: { table: 'appointments' } as never,
    fetchClient: cookieFetch(cookie),
    ...(resume ? { offset: resume.offset as never, handle: resume.handle } : {}),
    onError: () => ({}),
  });
  stream.subscribe((messages: Message<Row>[]) => {
    for (const m of messages) {
      if (isChangeMessage(m)) {
        const id = String(m.value.id);
        if (m.headers.operation === 'insert') {
          if (held.has(id)) counts.duplicateInserts++;
          held.set(id, { ...m.value });
        } else if (m.headers.operation === 'update') {
          if (!held.has(id)) counts.updatesOfMissing++;
          held.set(id, { ...held.get(id), ...m.value });
        } else held.delete(id);
      } else if (isControlMessage(m)) {
        if (m.headers.control === 'must-refetch') {
          counts.refetches++;
          held.clear();
        }
        if (m.headers.control === 'up-to-date') counts.upToDate++;
      }
    }
  });
  return { stream, counts };
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  for (let i = 0; i < 12; i++) await insert();
  // Compacted on the periodic check (expireIdle) past 30 changes; the tests also call it directly.
  server = await startSyncTestServer(db, 'sync_compaction_test', { SYNC_COMPACT_LOG_ROWS: '30' });
  const api = new ApiClient(server.url);
  await api.login(fx.users.admin.email, TEST_PASSWORD);
  cookie = api.cookie;
});

/** The appointments shape the clients follow (by table, not by its place in the registry). */
const appointmentsShape = () =>
  [...server.sync.registry.byDef.values()].find((s) => s.runtime.shape.table === 'appointments')!;

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

it('folds a log per key and keeps every kind of client equal to SQL', async () => {
  const live = new Map() as Held;
  const a = follow(live);
  await waitFor(async () => heldRows(live) === (await sqlRows()), 20_000, 'the live client');

  // B stops here: its offset will lie inside the folded range.
  const before = new Map() as Held;
  const b = follow(before);
  await waitFor(() => b.counts.upToDate > 0, 20_000, 'client B');
  const bAt = { offset: b.stream.lastOffset, handle: b.stream.shapeHandle! };
  b.stream.unsubscribeAll();

  const [r0, r1, r2, r3, r4] = await ids();
  for (let i = 0; i < 8; i++) {
    await update(r0!, `reason = 'reason ${i}'`); // replica=default: only the reason is sent
    await update(r1!, `status = 'confirmed', version = version + 1`);
    await update(r1!, `urgency = 'urgent'`);
  }
  await update(r2!, `deleted_at = now()`); // leaves the shape: a delete
  await insert();
  await update(r3!, `deleted_at = now()`);
  await update(r3!, `deleted_at = NULL, reason = 'back'`); // comes back: an insert
  await waitFor(async () => heldRows(live) === (await sqlRows()), 20_000, 'the live client');

  // C stops at the end; two more changes follow, and the compaction keeps only those two.
  const after = new Map() as Held;
  const c = follow(after);
  await waitFor(async () => c.counts.upToDate > 0 && heldRows(after) === (await sqlRows()), 20_000, 'client C');
  const cAt = { offset: c.stream.lastOffset, handle: c.stream.shapeHandle! };
  c.stream.unsubscribeAll();
  await update(r4!, `reason = 'after C'`);
  await update(r0!, `reason = 'last before compaction'`);
  await waitFor(async () => heldRows(live) === (await sqlRows()), 20_000, 'the live client');

  const state = server.sync.registry.byHandle.get(cAt.handle)!;
  const entries = async () =>
    (
      await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sync_shape_log WHERE shape_id = $1', [
        state.id,
      ])
    ).rows[0]!.n;
  const entriesBefore = await entries();
  const removed = await compactShapeLog(server.sync, state, 2);
  expect(removed).toBeGreaterThan(20);
  expect(await entries()).toBeLessThan(entriesBefore - 20);
  expect(state.handle).not.toBe(cAt.handle);
  // After a restart the marks come from the log: the same snapshot start, and the first change
  // left standing in for the horizon: B (inside) still refetches, a client at the end does not.
  const reloaded = newShapeState(state.id, state.handle, state.defKey, state.runtime.shape);
  Object.assign(reloaded, { lastLsn: state.lastLsn, lastOp: state.lastOp, snapshotRows: state.snapshotRows });
  await loadCompactionMarks(db.pool, reloaded);
  expect(reloaded.compaction.snapshotFirstOp).toBe(state.compaction.snapshotFirstOp);
  const parse = (o: string) => ({ lsn: BigInt(o.split('_')[0]!), op: Number(o.split('_')[1]) });
  expect(isCompactedAway(reloaded, parse(bAt.offset))).toBe(true);
  expect(isCompactedAway(reloaded, { lsn: state.lastLsn, op: state.lastOp })).toBe(false);

  // Changes after the compaction reach everyone.
  await update(r1!, `reason = 'after compaction'`);
  await insert();
  const want = await sqlRows();

  await waitFor(() => heldRows(live) === want, 20_000, 'the live client after compaction');
  expect(a.counts.refetches).toBe(0);

  const cAgain = follow(after, cAt);
  await waitFor(() => heldRows(after) === want, 20_000, 'client C resumed past the horizon');
  expect(cAgain.counts.refetches).toBe(0);

  const bAgain = follow(before, bAt);
  await waitFor(() => heldRows(before) === want, 20_000, 'client B resumed inside the folded range');
  expect(bAgain.counts.refetches).toBeGreaterThan(0);

  const fresh = new Map() as Held;
  const d = follow(fresh);
  await waitFor(() => heldRows(fresh) === want, 20_000, 'a fresh client');
  for (const x of [a, cAgain, bAgain, d]) expect(x.counts.duplicateInserts).toBe(0);
  for (const x of [a, cAgain, bAgain, d]) x.stream.unsubscribeAll();
});

it('compactions racing fresh clients and writers: no duplicate insert, no update of a missing row', async () => {
  let writing = true;
  const rows = await ids();
  const writer = (async () => {
    for (let i = 0; writing; i++) {
      await update(rows[i % rows.length]!, `reason = 'race ${i}', version = version + 1`);
      if (i % 7 === 0) await insert();
    }
  })();
  const clients: Array<{ held: Held; f: ReturnType<typeof follow> }> = [];
  try {
    for (let round = 0; round < 8; round++) {
      const held = new Map() as Held;
      const f = follow(held);
      clients.push({ held, f });
      const state = appointmentsShape();
      // Compact while the new client reads its first answers and the writer goes on.
      await compactShapeLog(server.sync, state, 3);
      await waitFor(() => f.counts.upToDate > 0, 20_000, 'a fresh client up to date');
    }
  } finally {
    writing = false;
    await writer;
  }
  // The periodic check folds what the writer left down to half of SYNC_COMPACT_LOG_ROWS.
  const state = appointmentsShape();
  for (let i = 0; i < 40; i++) await update(rows[i % rows.length]!, `reason = 'more ${i}'`);
  await waitFor(() => state.logRows > 30, 20_000, 'more than 30 changes stored');
  await server.sync.expireIdle();
  expect(state.logRows).toBeLessThanOrEqual(30);
  await update(rows[0]!, `reason = 'after the periodic compaction'`);
  const want = await sqlRows();
  for (const { held, f } of clients) {
    await waitFor(() => heldRows(held) === want, 20_000, 'every client equal to SQL');
    expect(f.counts.duplicateInserts).toBe(0);
    expect(f.counts.updatesOfMissing).toBe(0);
    f.stream.unsubscribeAll();
  }
});
