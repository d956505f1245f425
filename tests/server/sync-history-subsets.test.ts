// A patient's visits before the appointment window, read as subset snapshots of the
// appointments shape with the official client 1.5 (the patient page's "Earlier visits"): the
// subset reaches past the window, the role's other rules still hold (a clinician gets only
// their doctor's rows, a receptionist no clinical notes, soft-deleted rows never), the live
// shape keeps its window, and every answer is audited.
import { randomUUID } from 'node:crypto';
import { ShapeStream, type Row } from '@electric-sql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointmentWindowStart } from '../../src/lib/shared/appointment-window.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { startSyncTestServer, type SyncTestServer } from '../setup/sync.js';

let db: TestDatabase;
let fx: Fixture;
let app: SyncTestServer;
let windowStart: string;
const cookies: Record<string, string> = {};
const DAY = 86_400_000;

/** Old visits of patient 0: two with doctor A, one with doctor B, one soft-deleted (A). */
const old: Record<'a1' | 'a2' | 'b1' | 'deleted', string> = { a1: '', a2: '', b1: '', deleted: '' };
let recent = '';

async function insert(doctorId: string, startsAt: Date, notes: string, deleted = false): Promise<string> {
  const id = randomUUID();
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, reason,
       clinical_notes, deleted_at)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'completed', 'follow-up', $5,
       CASE WHEN $6 THEN now() END)`,
    [id, fx.patients[0], doctorId, startsAt.toISOString(), notes, deleted],
  );
  return id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  windowStart = appointmentWindowStart(new Date(), 'UTC');
  const before = Date.parse(windowStart);
  old.a1 = await insert(fx.doctorA, new Date(before - 30 * DAY), 'A note one');
  old.a2 = await insert(fx.doctorA, new Date(before - 400 * DAY), 'A note two');
  old.b1 = await insert(fx.doctorB, new Date(before - 60 * DAY), 'B note');
  old.deleted = await insert(fx.doctorA, new Date(before - 90 * DAY), 'gone', true);
  recent = await insert(fx.doctorA, new Date(before + 2 * DAY), 'inside the window');
  app = await startSyncTestServer(db, 'sync_history_subsets');
  for (const [role, user] of Object.entries(fx.users)) {
    const c = new ApiClient(app.url);
    await c.login(user.email, TEST_PASSWORD);
    cookies[role] = c.cookie;
  }
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
});

function stream(role: keyof Fixture['users']): ShapeStream<Row> {
  return new ShapeStream<Row>({
    url: `${app.url}/v1/shape`,
    params: { table: 'appointments' },
    log: 'changes_only',
    fetchClient: (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set('cookie', cookies[role]!);
      headers.set('origin', 'http://clinic.test');
      return fetch(input, { ...init, headers });
    },
  });
}

/** The patient's visits before the window, newest first, as the patient page asks for them. */
async function history(role: keyof Fixture['users'], method: 'GET' | 'POST' = 'POST') {
  const { data } = await stream(role).fetchSnapshot({
    where: 'patient_id = $1 AND starts_at < $2',
    params: { '1': fx.patients[0]!, '2': windowStart },
    orderBy: 'starts_at DESC, id DESC',
    limit: 50,
    method,
  });
  return data.map((m) => m.value);
}

describe('subset snapshots before the appointment window', () => {
  it('reach past the window for an admin, without soft-deleted rows', async () => {
    const rows = await history('admin');
    expect(rows.map((r) => r.id)).toEqual([old.a1, old.b1, old.a2]);
    expect(rows[0]!.clinical_notes).toBe('A note one');
  });

  it.each(['GET', 'POST'] as const)('give a clinician only their own doctor’s rows (%s)', async (method) => {
    expect((await history('clinicianA', method)).map((r) => r.id)).toEqual([old.a1, old.a2]);
    const b = await history('clinicianB', method);
    expect(b.map((r) => r.id)).toEqual([old.b1]);
    expect(b.every((r) => r.doctor_id === fx.doctorB)).toBe(true);
  });

  it('a clinician asking for another doctor’s rows by name gets none', async () => {
    const { data } = await stream('clinicianB').fetchSnapshot({
      where: 'doctor_id = $1',
      params: { '1': fx.doctorA },
      method: 'POST',
    });
    expect(data).toEqual([]);
  });

  it('give a receptionist no clinical notes, and refuse a filter on them', async () => {
    const rows = await history('receptionist');
    expect(rows.map((r) => r.id)).toEqual([old.a1, old.b1, old.a2]);
    expect(rows.every((r) => !('clinical_notes' in r))).toBe(true);
    const res = await fetch(`${app.url}/v1/shape?table=appointments&offset=-1`, {
      method: 'POST',
      headers: { cookie: cookies.receptionist!, origin: 'http://clinic.test', 'content-type': 'application/json' },
      body: JSON.stringify({ where: `clinical_notes LIKE 'A%'` }),
    });
    expect(res.status).toBe(400);
    expect(Object.keys(((await res.json()) as { errors: object }).errors)).toEqual(['subset__where']);
  });

  it('leave the live shape at its window', async () => {
    const rows: Row[] = [];
    const s = new ShapeStream<Row>({
      url: `${app.url}/v1/shape`,
      params: { table: 'appointments' },
      fetchClient: (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('cookie', cookies.admin!);
        return fetch(input, { ...init, headers });
      },
    });
    await new Promise<void>((resolve, reject) => {
      const stop = s.subscribe(
        (messages) => {
          for (const m of messages) if ('key' in m) rows.push(m.value);
          if (messages.some((m) => m.headers.control === 'up-to-date')) {
            stop();
            resolve();
          }
        },
        (err) => reject(err),
      );
    });
    expect(rows.map((r) => r.id)).toEqual([recent]);
  });

  it('audit each answer with the scope, the filter and its parameters', async () => {
    await history('clinicianA');
    const { rows } = await db.pool.query<{ details: Record<string, unknown> }>(
      `SELECT details FROM audit_log WHERE action = 'sync.subset' AND actor_id = $1 ORDER BY id DESC LIMIT 1`,
      [fx.users.clinicianA.id],
    );
    expect(rows[0]!.details).toMatchObject({
      where: `deleted_at IS NULL AND doctor_id = '${fx.doctorA}'`,
      subset: { where: 'patient_id = $1 AND starts_at < $2', params: { '1': fx.patients[0], '2': windowStart } },
      messages: 2,
    });
  });
});
