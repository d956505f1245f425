// What an authenticated shape answer may leave behind and who it may still reach: no shared or
// browser caching of patient data, an audit row for every answer carrying patient rows (resumed
// reads included), and live requests that end the moment their session does.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, waitFor, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let server: SyncTestServer;
let fx: Fixture;

async function login(email: string, password = TEST_PASSWORD) {
  const c = new ApiClient(server.url);
  await c.login(email, password);
  return c;
}

async function shapeGet(cookie: string, query: string) {
  const res = await fetch(`${server.url}/v1/shape?${query}`, { headers: { cookie } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
}

async function book(doctorId: string, patientId: string, reason = 'check-up') {
  const id = randomUUID();
  const starts = new Date(Date.UTC(2031, 0, 1, 9) + Math.floor(Math.random() * 1e6) * 60_000);
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, reason)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, $5)`,
    [id, patientId, doctorId, starts, reason],
  );
  return id;
}

/** Reads a table's shape to its end; returns the handle and the offset to go live from. */
async function toEnd(cookie: string, table: string) {
  let r = await shapeGet(cookie, `table=${table}&offset=-1`);
  expect(r.status).toBe(200);
  let handle = r.headers.get('electric-handle')!;
  let offset = r.headers.get('electric-offset')!;
  let text = r.text;
  while (!r.headers.has('electric-up-to-date')) {
    r = await shapeGet(cookie, `table=${table}&offset=${offset}&handle=${handle}`);
    expect(r.status).toBe(200);
    handle = r.headers.get('electric-handle')!;
    offset = r.headers.get('electric-offset')!;
    text += r.text;
  }
  return { handle, offset, text };
}

async function auditRows(actorId: string, action: string) {
  const { rows } = await db.pool.query(
    `SELECT entity, details FROM audit_log WHERE actor_id = $1 AND action = $2 ORDER BY id`,
    [actorId, action],
  );
  return rows as Array<{ entity: string; details: Record<string, unknown> }>;
}

/** A live request on the appointments shape, held by the server until something happens. */
async function holdLive(cookie: string) {
  const { handle, offset } = await toEnd(cookie, 'appointments');
  const state = server.sync.registry.byHandle.get(handle)!;
  const before = state.liveRequests;
  const pending = shapeGet(cookie, `table=appointments&offset=${offset}&handle=${handle}&live=true&cursor=1`);
  await waitFor(() => state.liveRequests > before, 10_000, 'the live request to wait');
  return { pending };
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  // A hold long enough that only the session's end (or a change) can answer the request.
  server = await startSyncTestServer(db, 'sync_session_safety_test', { SYNC_LONG_POLL_MS: '30000' });
  await book(fx.doctorA, fx.patients[0]!);
});

afterAll(async () => {
  await server?.close();
  await db?.drop();
});

describe('caching of authenticated shapes', () => {
  it('never lets a shared cache or the browser keep patient data, and keeps the rest private', async () => {
    const reception = await login(fx.users.receptionist.email);
    for (const table of ['patients', 'appointments']) {
      const first = await shapeGet(reception.cookie, `table=${table}&offset=-1`);
      expect(first.status).toBe(200);
      expect(first.headers.get('cache-control')).toBe('no-store');
      expect(first.headers.get('vary')).toMatch(/cookie/i);
      const handle = first.headers.get('electric-handle')!;
      const resumed = await shapeGet(reception.cookie, `table=${table}&offset=0_0&handle=${handle}`);
      expect(resumed.headers.get('cache-control')).toBe('no-store');
      const refetch = await shapeGet(reception.cookie, `table=${table}&offset=0_0&handle=bogus`);
      expect(refetch.status).toBe(409);
      expect(refetch.headers.get('cache-control')).toBe('no-store');
    }
    const doctors = await shapeGet(reception.cookie, 'table=doctors&offset=-1');
    expect(doctors.status).toBe(200);
    const cc = doctors.headers.get('cache-control')!;
    expect(cc).toMatch(/^private\b/);
    expect(cc).not.toMatch(/public|s-maxage/);
    expect(doctors.headers.get('vary')).toMatch(/cookie/i);
  });
});

describe('audit of shape reads', () => {
  it('audits a resumed read with a handle learned from a 409, and every live answer with patient rows', async () => {
    const admin = await login(fx.users.admin.email);
    // Learn the current handle the way an attacker would: a bogus handle answers 409 with it.
    await toEnd((await login(fx.users.receptionist.email)).cookie, 'patients');
    const conflict = await shapeGet(admin.cookie, 'table=patients&offset=0_0&handle=made-up');
    expect(conflict.status).toBe(409);
    const handle = conflict.headers.get('electric-handle')!;
    expect(await auditRows(fx.users.admin.id, 'sync.subscribe')).toHaveLength(0);

    const resumed = await shapeGet(admin.cookie, `table=patients&offset=0_0&handle=${handle}`);
    expect(resumed.status).toBe(200);
    const rowsSent = (resumed.body as Array<{ key?: string }>).filter((m) => m.key).length;
    expect(rowsSent).toBeGreaterThan(0);
    const reads = await auditRows(fx.users.admin.id, 'sync.read');
    expect(reads).toHaveLength(1);
    expect(reads[0]!.entity).toBe('patients');
    expect(reads[0]!.details).toMatchObject({ handle, from: '0_0' });
    expect(reads[0]!.details.messages).toBeGreaterThanOrEqual(rowsSent);

    // A live answer that delivers a change is audited; one that only says up-to-date is not.
    const { handle: h, offset } = await toEnd(admin.cookie, 'appointments');
    const afterCatchUp = (await auditRows(fx.users.admin.id, 'sync.read')).length;
    const state = server.sync.registry.byHandle.get(h)!;
    const before = state.liveRequests;
    const live = shapeGet(admin.cookie, `table=appointments&offset=${offset}&handle=${h}&live=true&cursor=1`);
    await waitFor(() => state.liveRequests > before, 10_000, 'the live request to wait');
    const id = await book(fx.doctorB, fx.patients[1]!);
    const answer = await live;
    expect(answer.status).toBe(200);
    expect(answer.text).toContain(id);
    const after = await auditRows(fx.users.admin.id, 'sync.read');
    expect(after).toHaveLength(afterCatchUp + 1);
    expect(after.at(-1)!).toMatchObject({ entity: 'appointments', details: { handle: h, from: offset } });

    // Reference data is not audited.
    await toEnd(admin.cookie, 'doctors');
    expect(await auditRows(fx.users.admin.id, 'sync.read')).toHaveLength(afterCatchUp + 1);
  });
});

describe('a session that ends ends its live requests', () => {
  it('logout: the waiting request answers 401 and never gets the next change', async () => {
    const reception = await login(fx.users.receptionist.email);
    const { pending } = await holdLive(reception.cookie);
    const cookie = reception.cookie;
    expect((await reception.post('/api/auth/logout')).status).toBe(204);
    const id = await book(fx.doctorA, fx.patients[2]!, 'after logout');
    const answer = await pending;
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain(id);
    expect(answer.headers.get('cache-control')).toBe('no-store');
    expect((await shapeGet(cookie, 'table=appointments&offset=-1')).status).toBe(401);
  });

  it('deactivation by an admin ends the user’s live requests', async () => {
    const clinician = await login(fx.users.clinicianB.email);
    const { pending } = await holdLive(clinician.cookie);
    const admin = await login(fx.users.admin.email);
    expect((await admin.patch(`/api/users/${fx.users.clinicianB.id}`, { active: false })).status).toBe(200);
    const id = await book(fx.doctorB, fx.patients[3]!, 'after deactivation');
    const answer = await pending;
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain(id);
    expect((await admin.patch(`/api/users/${fx.users.clinicianB.id}`, { active: true })).status).toBe(200);
  });

  it('a password change ends the user’s other sessions’ live requests, not its own', async () => {
    const tablet = await login(fx.users.clinicianA.email);
    const desk = await login(fx.users.clinicianA.email);
    const { pending } = await holdLive(tablet.cookie);
    const newPassword = 'another long passphrase 42';
    const changed = await desk.post('/api/auth/password', {
      current_password: TEST_PASSWORD,
      new_password: newPassword,
    });
    expect(changed.status).toBe(204);
    const id = await book(fx.doctorA, fx.patients[4]!, 'after password change');
    const answer = await pending;
    expect(answer.status).toBe(401);
    expect(answer.text).not.toContain(id);
    // The session that changed the password keeps syncing.
    await waitFor(async () => (await toEnd(desk.cookie, 'appointments')).text.includes(id), 10_000, 'own sync');
  });
});
