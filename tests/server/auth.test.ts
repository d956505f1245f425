// Sessions end to end over real HTTP and a real database: login/logout/me, cookie flags,
// expiry (sliding and absolute), revocation, password changes ending other sessions.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

let db: TestDatabase;
let fx: Fixture;
let server: TestServer;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const client = () => new ApiClient(server.url);
const tokenOf = (c: ApiClient) => c.cookie.split('=')[1]!;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
/** The session row's id: the hash of the token's id part. */
const sessionId = (token: string) => sha256(token.split('.')[0]!);

async function signedIn(email: string) {
  const c = client();
  await c.login(email, TEST_PASSWORD);
  return c;
}

async function addUser(email: string, role = 'receptionist') {
  const admin = await signedIn(fx.users.admin.email);
  const res = await admin.post('/api/users', { email, full_name: email, role, password: TEST_PASSWORD });
  expect(res.status).toBe(201);
  return res.body.user.id as string;
}

describe('login', () => {
  it('answers the user and sets an HttpOnly, SameSite=Lax session cookie with an expiry', async () => {
    const c = client();
    const res = await c.login(fx.users.receptionist.email, TEST_PASSWORD);
    expect(res.body.user).toEqual({
      id: fx.users.receptionist.id,
      email: fx.users.receptionist.email,
      full_name: 'reception',
      role: 'receptionist',
      doctor_id: null,
    });
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^clinic_session=[a-z2-7]{32}\.[a-z2-7]{32};/);
    expect(cookie).toMatch(/; HttpOnly/);
    expect(cookie).toMatch(/; SameSite=Lax/);
    expect(cookie).toMatch(/; Path=\//);
    expect(cookie).toMatch(/; Expires=/);
    expect(cookie).not.toMatch(/Secure/);
  });

  it('accepts the email in any case', async () => {
    const c = client();
    await c.login(fx.users.receptionist.email.toUpperCase(), TEST_PASSWORD);
    expect((await c.get('/api/auth/me')).status).toBe(200);
  });

  it('stores only SHA-256 hashes of the token, and checks its secret part', async () => {
    const c = await signedIn(fx.users.receptionist.email);
    const token = tokenOf(c);
    const [idPart, secretPart] = token.split('.') as [string, string];
    const { rows } = await db.pool.query(`SELECT encode(secret_hash, 'hex') AS secret FROM sessions WHERE id = $1`, [
      sha256(idPart),
    ]);
    expect(rows).toEqual([{ secret: sha256(secretPart) }]);
    const raw = await db.pool.query(
      `SELECT 1 FROM sessions s WHERE row_to_json(s)::text LIKE '%' || $1 || '%' OR row_to_json(s)::text LIKE '%' || $2 || '%'`,
      [idPart, secretPart],
    );
    expect(raw.rows).toHaveLength(0);
    // The right id with a wrong secret is no session; the real token still is.
    const forged = client();
    forged.cookie = `clinic_session=${idPart}.${'a'.repeat(32)}`;
    expect((await forged.get('/api/auth/me')).status).toBe(401);
    expect((await c.get('/api/auth/me')).status).toBe(200);
  });

  it('gives the same 401 for an unknown email, a wrong password and a deactivated user', async () => {
    const unknown = await client().post('/api/auth/login', { email: 'nobody@test.clinic', password: TEST_PASSWORD });
    const wrong = await client().post('/api/auth/login', { email: fx.users.admin.email, password: 'wrong password!' });
    const id = await addUser('gone@test.clinic');
    await db.pool.query('UPDATE users SET active = false WHERE id = $1', [id]);
    const inactive = await client().post('/api/auth/login', { email: 'gone@test.clinic', password: TEST_PASSWORD });
    for (const res of [unknown, wrong, inactive]) {
      expect(res.status).toBe(401);
      expect(res.body).toEqual(wrong.body);
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(wrong.body.error.code).toBe('invalid_credentials');
  });

  it('audits logins and failed logins, never with the password', async () => {
    const before = await db.pool.query<{ n: number }>('SELECT max(id)::int AS n FROM audit_log');
    await client().post('/api/auth/login', { email: fx.users.clinicianA.email, password: 'not-the-password' });
    await signedIn(fx.users.clinicianA.email);
    const { rows } = await db.pool.query(
      'SELECT action, actor_id, entity_id, details::text AS details FROM audit_log WHERE id > $1 ORDER BY id',
      [before.rows[0]!.n ?? 0],
    );
    expect(rows.map((r) => r.action)).toEqual(['auth.login_failed', 'auth.login']);
    expect(rows[0].entity_id).toBe(fx.users.clinicianA.id);
    expect(rows[1].actor_id).toBe(fx.users.clinicianA.id);
    for (const r of rows) {
      expect(r.details).not.toContain('not-the-password');
      expect(r.details).not.toContain(TEST_PASSWORD);
    }
  });

  it('rejects malformed bodies with named fields', async () => {
    const res = await client().post('/api/auth/login', { email: 'a@b.c', password: 'x', remember: true });
    expect(res.status).toBe(422);
    expect(res.body.error.details.issues.map((i: { path: string }) => i.path)).toContain('remember');
  });

  it('marks the cookie Secure when PUBLIC_ORIGIN is https', async () => {
    const https = await startTestServer(db, { PUBLIC_ORIGIN: 'https://clinic.test' });
    try {
      const c = new ApiClient(https.url, 'https://clinic.test');
      const res = await c.login(fx.users.receptionist.email, TEST_PASSWORD);
      expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
    } finally {
      await https.close();
    }
  });
});

describe('me and logout', () => {
  it('401s without a session and for a forged token', async () => {
    const anon = await client().get('/api/auth/me');
    expect(anon.status).toBe(401);
    expect(anon.body.error.code).toBe('unauthenticated');
    const forged = client();
    forged.cookie = 'clinic_session=' + 'a'.repeat(32) + '.' + 'b'.repeat(32);
    expect((await forged.get('/api/auth/me')).status).toBe(401);
  });

  it('the session probe answers 200 with the user, or with null (no 401 to log)', async () => {
    const anon = await client().get('/api/auth/session');
    expect(anon.status).toBe(200);
    expect(anon.body).toEqual({ user: null });
    const forged = client();
    forged.cookie = 'clinic_session=' + 'a'.repeat(32) + '.' + 'b'.repeat(32);
    expect(await forged.get('/api/auth/session')).toMatchObject({ status: 200, body: { user: null } });
    const c = await signedIn(fx.users.receptionist.email);
    const mine = await c.get('/api/auth/session');
    expect(mine.status).toBe(200);
    expect(mine.body.user).toMatchObject({ id: fx.users.receptionist.id, role: 'receptionist' });
    expect(mine.body.user.password_hash).toBeUndefined();
  });

  it('logout deletes the session and clears the cookie', async () => {
    const c = await signedIn(fx.users.receptionist.email);
    const token = tokenOf(c);
    const res = await c.post('/api/auth/logout');
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/clinic_session=;.*Expires=Thu, 01 Jan 1970/);
    const { rows } = await db.pool.query('SELECT 1 FROM sessions WHERE id = $1', [sessionId(token)]);
    expect(rows).toHaveLength(0);
    const replay = client();
    replay.cookie = `clinic_session=${token}`;
    expect((await replay.get('/api/auth/me')).status).toBe(401);
  });
});

describe('expiry', () => {
  it('an expired session is refused and deleted', async () => {
    const c = await signedIn(fx.users.receptionist.email);
    const id = sessionId(tokenOf(c));
    await db.pool.query(
      `UPDATE sessions SET created_at = now() - interval '2 days', expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    expect((await c.get('/api/auth/me')).status).toBe(401);
    expect((await db.pool.query('SELECT 1 FROM sessions WHERE id = $1', [id])).rows).toHaveLength(0);
  });

  it('a session older than the absolute cap is refused even if recently renewed', async () => {
    const c = await signedIn(fx.users.receptionist.email);
    const id = sessionId(tokenOf(c));
    await db.pool.query(`UPDATE sessions SET created_at = now() - interval '91 days' WHERE id = $1`, [id]);
    expect((await c.get('/api/auth/me')).status).toBe(401);
  });

  it('slides the expiry forward at most once a day, resending the cookie only then', async () => {
    const c = await signedIn(fx.users.receptionist.email);
    const id = sessionId(tokenOf(c));
    const fresh = await c.get('/api/auth/me');
    expect(fresh.headers.get('set-cookie')).toBeNull();
    await db.pool.query(
      `UPDATE sessions SET created_at = now() - interval '10 days', expires_at = now() + interval '20 days' WHERE id = $1`,
      [id],
    );
    const renewed = await c.get('/api/auth/me');
    expect(renewed.status).toBe(200);
    expect(renewed.headers.get('set-cookie')).toMatch(/^clinic_session=[a-z2-7]{32}\.[a-z2-7]{32};.*Expires=/);
    const { rows } = await db.pool.query<{ days: number }>(
      `SELECT (extract(epoch FROM expires_at - now()) / 86400)::float8 AS days FROM sessions WHERE id = $1`,
      [id],
    );
    expect(rows[0]!.days).toBeGreaterThan(29);
    // The renewal never goes past created_at + SESSION_MAX_DAYS.
    await db.pool.query(
      `UPDATE sessions SET created_at = now() - interval '85 days', expires_at = now() + interval '1 day' WHERE id = $1`,
      [id],
    );
    await c.get('/api/auth/me');
    const capped = await db.pool.query<{ ok: boolean }>(
      `SELECT expires_at <= created_at + interval '90 days' AS ok FROM sessions WHERE id = $1`,
      [id],
    );
    expect(capped.rows[0]!.ok).toBe(true);
  });
});

describe('revocation', () => {
  it("changing one's own password ends the other sessions and keeps this one", async () => {
    await addUser('changer@test.clinic');
    const here = await signedIn('changer@test.clinic');
    const elsewhere = await signedIn('changer@test.clinic');
    const res = await here.post('/api/auth/password', {
      current_password: TEST_PASSWORD,
      new_password: 'a brand new passphrase',
    });
    expect(res.status).toBe(204);
    expect((await here.get('/api/auth/me')).status).toBe(200);
    expect((await elsewhere.get('/api/auth/me')).status).toBe(401);
    expect(
      (await client().post('/api/auth/login', { email: 'changer@test.clinic', password: TEST_PASSWORD })).status,
    ).toBe(401);
    await client().login('changer@test.clinic', 'a brand new passphrase');
  });

  it('refuses a wrong current password or a short new one', async () => {
    await addUser('careful@test.clinic');
    const c = await signedIn('careful@test.clinic');
    const wrong = await c.post('/api/auth/password', {
      current_password: 'nope nope nope',
      new_password: 'a brand new passphrase',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.details.issues[0].path).toBe('current_password');
    const short = await c.post('/api/auth/password', { current_password: TEST_PASSWORD, new_password: 'short' });
    expect(short.status).toBe(422);
    expect(short.body.error.details.issues[0].path).toBe('new_password');
    expect((await c.get('/api/auth/me')).status).toBe(200);
  });

  it('an admin password reset ends every session of that user', async () => {
    const id = await addUser('reset@test.clinic');
    const a = await signedIn('reset@test.clinic');
    const b = await signedIn('reset@test.clinic');
    const admin = await signedIn(fx.users.admin.email);
    expect((await admin.patch(`/api/users/${id}`, { password: 'reset by the admin' })).status).toBe(200);
    expect((await a.get('/api/auth/me')).status).toBe(401);
    expect((await b.get('/api/auth/me')).status).toBe(401);
    expect((await db.pool.query('SELECT 1 FROM sessions WHERE user_id = $1', [id])).rows).toHaveLength(0);
  });

  it('deactivating a user ends their sessions at once', async () => {
    const id = await addUser('leaver@test.clinic');
    const c = await signedIn('leaver@test.clinic');
    const admin = await signedIn(fx.users.admin.email);
    expect((await admin.patch(`/api/users/${id}`, { active: false })).status).toBe(200);
    expect((await c.get('/api/auth/me')).status).toBe(401);
    expect(
      (await client().post('/api/auth/login', { email: 'leaver@test.clinic', password: TEST_PASSWORD })).status,
    ).toBe(401);
  });

  it('a role change applies to the next request of an open session', async () => {
    const id = await addUser('promoted@test.clinic');
    const c = await signedIn('promoted@test.clinic');
    expect((await c.get('/api/users')).status).toBe(403);
    const admin = await signedIn(fx.users.admin.email);
    expect((await admin.patch(`/api/users/${id}`, { role: 'admin' })).status).toBe(200);
    expect((await c.get('/api/users')).status).toBe(200);
  });
});
