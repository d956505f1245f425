// Admin user routes: list, create, update; validation naming fields; audit rows; the last
// admin can't be removed.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

let db: TestDatabase;
let fx: Fixture;
let server: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db);
  admin = new ApiClient(server.url);
  await admin.login(fx.users.admin.email, TEST_PASSWORD);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const issuePaths = (body: any) => body.error.details.issues.map((i: { path: string }) => i.path);
const newUser = (over: Record<string, unknown> = {}) => ({
  email: `u${Math.random().toString(36).slice(2, 10)}@test.clinic`,
  full_name: 'New Person',
  role: 'receptionist',
  password: 'twelve chars ok',
  ...over,
});

describe('GET /api/users', () => {
  it('pages through users without password hashes', async () => {
    const res = await admin.get('/api/users?page=1&page_size=2');
    expect(res.status).toBe(200);
    expect(res.body.count).toBeGreaterThanOrEqual(4);
    expect(res.body.results).toHaveLength(2);
    expect(res.body.next).toBe('?page=2&page_size=2');
    expect(res.body.previous).toBeNull();
    expect(JSON.stringify(res.body)).not.toContain('argon2');
    const second = await admin.get('/api/users' + res.body.next);
    expect(second.body.previous).toBe('?page=1&page_size=2');
    expect(second.body.results[0].id).not.toBe(res.body.results[0].id);
  });

  it('filters by role and search, and keeps filters in the links', async () => {
    const res = await admin.get('/api/users?role=clinician&page_size=1');
    expect(res.body.count).toBe(2);
    expect(res.body.results.every((u: { role: string }) => u.role === 'clinician')).toBe(true);
    expect(res.body.next).toBe('?role=clinician&page=2&page_size=1');
    const search = await admin.get('/api/users?search=clinician.b');
    expect(search.body.results.map((u: { id: string }) => u.id)).toEqual([fx.users.clinicianB.id]);
    // LIKE wildcards are literal.
    expect((await admin.get('/api/users?search=%25')).body.count).toBe(0);
  });

  it('rejects bad and unknown query parameters', async () => {
    expect(issuePaths((await admin.get('/api/users?page_size=1000')).body)).toEqual(['page_size']);
    expect(issuePaths((await admin.get('/api/users?sort=email')).body)).toEqual(['sort']);
  });

  it('is for admins only', async () => {
    for (const email of [fx.users.receptionist.email, fx.users.clinicianA.email]) {
      const c = new ApiClient(server.url);
      await c.login(email, TEST_PASSWORD);
      expect((await c.get('/api/users')).status).toBe(403);
      expect((await c.post('/api/users', newUser())).status).toBe(403);
    }
    expect((await new ApiClient(server.url).get('/api/users')).status).toBe(401);
  });
});

describe('POST /api/users', () => {
  it('creates a user who can log in, and audits it without the password', async () => {
    const input = newUser({ email: 'Created@Test.Clinic' });
    const res = await admin.post('/api/users', input);
    expect(res.status).toBe(201);
    expect(res.body.user).toMatchObject({
      email: 'Created@Test.Clinic',
      role: 'receptionist',
      active: true,
      doctor_id: null,
    });
    expect(res.body.user.password_hash).toBeUndefined();
    await new ApiClient(server.url).login('created@test.clinic', input.password);
    const audit = await db.pool.query(
      `SELECT actor_id, details::text AS details FROM audit_log WHERE entity = 'user' AND entity_id = $1 AND action = 'user.create'`,
      [res.body.user.id],
    );
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0].actor_id).toBe(fx.users.admin.id);
    expect(audit.rows[0].details).not.toContain(input.password);
    expect(audit.rows[0].details).not.toContain('argon2');
  });

  it('names each bad field', async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [newUser({ password: 'short' }), 'password'],
      [newUser({ email: 'not-an-email' }), 'email'],
      [newUser({ role: 'owner' }), 'role'],
      [newUser({ nickname: 'x' }), 'nickname'],
      [newUser({ role: 'clinician' }), 'doctor_id'],
      [newUser({ role: 'receptionist', doctor_id: fx.doctorB }), 'doctor_id'],
      [newUser({ role: 'clinician', doctor_id: '00000000-0000-4000-8000-000000000000' }), 'doctor_id'],
      [newUser({ role: 'clinician', doctor_id: fx.doctorA }), 'doctor_id'], // already linked
      [newUser({ email: fx.users.receptionist.email.toUpperCase() }), 'email'], // taken
    ];
    for (const [body, path] of cases) {
      const res = await admin.post('/api/users', body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(issuePaths(res.body)).toContain(path);
    }
  });

  it('links a new clinician to a free doctor', async () => {
    const doctor = await db.pool.query<{ id: string }>(
      `INSERT INTO doctors (full_name) VALUES ('Dr. Free') RETURNING id`,
    );
    const res = await admin.post('/api/users', newUser({ role: 'clinician', doctor_id: doctor.rows[0]!.id }));
    expect(res.status).toBe(201);
    expect(res.body.user.doctor_id).toBe(doctor.rows[0]!.id);
  });
});

describe('PATCH /api/users/:id', () => {
  it('changes role and name, drops the doctor link when leaving the clinician role, and audits the change', async () => {
    const doctor = await db.pool.query<{ id: string }>(
      `INSERT INTO doctors (full_name) VALUES ('Dr. Moved') RETURNING id`,
    );
    const created = await admin.post('/api/users', newUser({ role: 'clinician', doctor_id: doctor.rows[0]!.id }));
    const id = created.body.user.id;
    const res = await admin.patch(`/api/users/${id}`, { role: 'receptionist', full_name: 'Renamed' });
    expect(res.status).toBe(200);
    expect(res.body.user).toMatchObject({ role: 'receptionist', doctor_id: null, full_name: 'Renamed' });
    const audit = await db.pool.query(
      `SELECT details FROM audit_log WHERE entity = 'user' AND entity_id = $1 AND action = 'user.update'`,
      [id],
    );
    expect(audit.rows[0].details.changes).toEqual({
      role: ['clinician', 'receptionist'],
      doctor_id: [doctor.rows[0]!.id, null],
      full_name: ['New Person', 'Renamed'],
    });
    expect(audit.rows[0].details.password_changed).toBe(false);
  });

  it('404s for unknown and malformed ids, 422 for an empty or unknown change', async () => {
    expect((await admin.patch('/api/users/00000000-0000-4000-8000-000000000000', { active: false })).status).toBe(404);
    expect((await admin.patch('/api/users/not-a-uuid', { active: false })).status).toBe(404);
    expect((await admin.patch(`/api/users/${fx.users.receptionist.id}`, {})).status).toBe(422);
    const unknown = await admin.patch(`/api/users/${fx.users.receptionist.id}`, { email: 'x@y.z' });
    expect(issuePaths(unknown.body)).toContain('email');
  });

  it('never leaves the clinic without an active admin', async () => {
    const res = await admin.patch(`/api/users/${fx.users.admin.id}`, { active: false });
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe('last_admin');
    const demote = await admin.patch(`/api/users/${fx.users.admin.id}`, { role: 'receptionist' });
    expect(demote.status).toBe(409);
    // With a second admin, the first may step down.
    const second = await admin.post('/api/users', newUser({ role: 'admin' }));
    const other = new ApiClient(server.url);
    await other.login(second.body.user.email, 'twelve chars ok');
    const stepDown = await other.patch(`/api/users/${second.body.user.id}`, { role: 'receptionist' });
    expect(stepDown.status).toBe(200);
    expect((await other.get('/api/users')).status).toBe(403);
  });

  it('an admin resetting their own password keeps their current session', async () => {
    const created = await admin.post('/api/users', newUser({ role: 'admin' }));
    const self = new ApiClient(server.url);
    await self.login(created.body.user.email, 'twelve chars ok');
    const res = await self.patch(`/api/users/${created.body.user.id}`, { password: 'another twelve chars' });
    expect(res.status).toBe(200);
    expect((await self.get('/api/auth/me')).status).toBe(200);
  });
});

describe('npm run user:create', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');
  function userCreate(args: string[], stdin: string): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn(
        process.execPath,
        [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/cli/user-create.ts', ...args],
        {
          cwd: ROOT,
          env: { ...process.env, DATABASE_URL: db.url, LOG_LEVEL: 'silent' },
        },
      );
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      child.on('exit', (code) => resolve({ code, output }));
      child.stdin.end(stdin);
    });
  }

  it('creates an admin with the password from stdin, audited, who can log in', async () => {
    const res = await userCreate(
      ['--email', 'first.admin@test.clinic', '--role', 'admin', '--name', 'First Admin', '--password-stdin'],
      'a first admin password\n',
    );
    expect(res.output).toContain('Created admin first.admin@test.clinic');
    expect(res.code).toBe(0);
    const c = new ApiClient(server.url);
    const login = await c.login('first.admin@test.clinic', 'a first admin password');
    expect(login.body.user.role).toBe('admin');
    const audit = await db.pool.query(
      `SELECT actor_id, user_agent FROM audit_log WHERE action = 'user.create' AND entity_id = $1`,
      [login.body.user.id],
    );
    expect(audit.rows).toEqual([{ actor_id: null, user_agent: 'npm run user:create' }]);
  });

  it('names the bad option and exits non-zero', async () => {
    const short = await userCreate(
      ['--email', 'x@test.clinic', '--role', 'admin', '--name', 'X', '--password-stdin'],
      'short\n',
    );
    expect(short.code).toBe(1);
    expect(short.output).toContain('password: must be at least 12 characters');
    const badRole = await userCreate(
      ['--email', fx.users.admin.email, '--role', 'boss', '--name', 'X', '--password-stdin'],
      'long enough password\n',
    );
    expect(badRole.code).toBe(1);
    expect(badRole.output).toContain('--role');
    const noTty = await userCreate(['--email', 'y@test.clinic', '--role', 'admin', '--name', 'Y'], '');
    expect(noTty.code).toBe(1);
    expect(noTty.output).toContain('--password-stdin');
  });
});
