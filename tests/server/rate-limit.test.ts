// Abuse control over real HTTP: anonymous and per-user hourly caps, the separate budgets of
// keyed writes (the device outbox's) and of sync,
// failed logins per account + IP, 429 bodies with Retry-After, and the PostgreSQL store shared
// by two app instances. Small caps come from the environment, as an operator would set them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capDelay, LOGIN_FREE_FAILURES, loginDelay } from '../../server/http/rate-limit.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type ApiResponse, type TestServer } from '../setup/server.js';

let db: TestDatabase;
let fx: Fixture;
const servers: TestServer[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await db?.drop();
});

async function serve(env: Record<string, string>) {
  // Delays of a millisecond or two: the slow-down path runs, the tests stay fast.
  const s = await startTestServer(db, { RATE_LIMIT_MAX_DELAY_MS: '2', ...env });
  servers.push(s);
  return s;
}

function expectRateLimited(res: ApiResponse) {
  expect(res.status).toBe(429);
  expect(res.body.error.code).toBe('rate_limited');
  expect(typeof res.body.error.message).toBe('string');
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  return retryAfter;
}

async function times(n: number, fn: () => Promise<ApiResponse>) {
  const out: ApiResponse[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

describe('hourly caps', () => {
  it('anonymous requests: RATE_LIMIT_ANON_PER_HOUR per IP, then 429 with Retry-After', async () => {
    const s = await serve({ RATE_LIMIT_ANON_PER_HOUR: '5' });
    const anon = new ApiClient(s.url);
    const allowed = await times(5, () => anon.get('/api/auth/me'));
    expect(allowed.map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    const retryAfter = expectRateLimited(await anon.get('/api/auth/me'));
    expect(retryAfter).toBeLessThanOrEqual(3600);
    // The static app and health probes are outside the API budget.
    expect((await anon.get('/healthz')).status).toBe(200);
  });

  it('signed-in requests: RATE_LIMIT_USER_PER_HOUR per user, whatever the IP budget says', async () => {
    const s = await serve({ RATE_LIMIT_USER_PER_HOUR: '6', RATE_LIMIT_ANON_PER_HOUR: '3' });
    const a = new ApiClient(s.url);
    await a.login(fx.users.receptionist.email, TEST_PASSWORD); // anonymous request 1
    const ok = await times(6, () => a.get('/api/auth/me'));
    expect(ok.every((r) => r.status === 200)).toBe(true);
    expect(ok[0]!.headers.get('ratelimit')).toMatch(/limit=6, remaining=5/);
    expectRateLimited(await a.get('/api/auth/me'));
    // Another user from the same IP has a budget of their own.
    const b = new ApiClient(s.url);
    await b.login(fx.users.clinicianA.email, TEST_PASSWORD); // anonymous request 2
    expect((await b.get('/api/auth/me')).status).toBe(200);
  });

  it('sync long-polls have their own budget and leave the hourly cap alone', async () => {
    const s = await serve({ RATE_LIMIT_USER_PER_HOUR: '4', RATE_LIMIT_SYNC_PER_HOUR: '10' });
    const c = new ApiClient(s.url);
    await c.login(fx.users.clinicianA.email, TEST_PASSWORD);
    const polls = await times(10, () => c.get('/v1/shape?table=appointments&offset=-1'));
    for (const res of polls) expect(res.status).not.toBe(429);
    // Ten polls later the user still has every one of their 4 API requests.
    const api = await times(4, () => c.get('/api/auth/me'));
    expect(api.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expectRateLimited(await c.get('/api/auth/me'));
    // And the sync budget has its own cap.
    expectRateLimited(await c.get('/v1/shape?table=appointments&offset=-1'));
  });
});

describe('writes carrying an Idempotency-Key (the device outbox)', () => {
  it('have a per-user budget of their own: a replay is not refused by a spent hourly cap, and is capped itself', async () => {
    const s = await serve({ RATE_LIMIT_USER_PER_HOUR: '3', RATE_LIMIT_WRITES_PER_HOUR: '5' });
    const c = new ApiClient(s.url);
    await c.login(fx.users.receptionist.email, TEST_PASSWORD);
    const patient = fx.patients[0]!;
    // The user's hourly budget is spent (reads) ...
    expect((await times(3, () => c.get('/api/auth/me'))).map((r) => r.status)).toEqual([200, 200, 200]);
    expectRateLimited(await c.get('/api/auth/me'));
    // ... and so is an unkeyed write, which belongs to it.
    expectRateLimited(await c.patch(`/api/patients/${patient}`, { phone: '+1 555 0100' }));
    // Five queued writes replayed with their keys still go, each applied.
    const replay = await times(5, () =>
      c.patch(`/api/patients/${patient}`, { phone: '+1 555 0101' }, { 'idempotency-key': randomUUID() }),
    );
    expect(replay.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replay[0]!.headers.get('ratelimit')).toMatch(/limit=5, remaining=4/);
    // Bounded: the sixth keyed write is refused like any request over a cap, for this user only.
    expectRateLimited(
      await c.patch(`/api/patients/${patient}`, { phone: '+1 555 0102' }, { 'idempotency-key': randomUUID() }),
    );
    const other = new ApiClient(s.url);
    await other.login(fx.users.admin.email, TEST_PASSWORD);
    const theirs = await other.patch(
      `/api/patients/${patient}`,
      { phone: '+1 555 0103' },
      { 'idempotency-key': randomUUID() },
    );
    expect(theirs.status).toBe(200);
  });

  it('a key on a read does not move it out of the hourly cap', async () => {
    const s = await serve({ RATE_LIMIT_USER_PER_HOUR: '2', RATE_LIMIT_WRITES_PER_HOUR: '100' });
    const c = new ApiClient(s.url);
    await c.login(fx.users.clinicianA.email, TEST_PASSWORD);
    const reads = await times(2, () => c.get('/api/auth/me', { 'idempotency-key': randomUUID() }));
    expect(reads.map((r) => r.status)).toEqual([200, 200]);
    expectRateLimited(await c.get('/api/auth/me', { 'idempotency-key': randomUUID() }));
  });
});

describe('logins behind one address', () => {
  it('a spent anonymous budget never blocks a login that succeeds', async () => {
    const s = await serve({ RATE_LIMIT_ANON_PER_HOUR: '5' });
    const anon = new ApiClient(s.url);
    await times(5, () => anon.get('/api/auth/me'));
    expectRateLimited(await anon.get('/api/auth/me'));
    // The whole clinic behind that address can still log in, and then works on its own budget.
    for (const user of [fx.users.admin, fx.users.receptionist, fx.users.clinicianA]) {
      const c = new ApiClient(s.url);
      expect((await c.post('/api/auth/login', { email: user.email, password: TEST_PASSWORD })).status).toBe(200);
      expect((await c.get('/api/auth/me')).status).toBe(200);
    }
    // A wrong password is still a plain 401 (its own limiter counts it), other anonymous calls stay capped.
    expect((await anon.post('/api/auth/login', { email: fx.users.admin.email, password: 'wrong' })).status).toBe(401);
    expectRateLimited(await anon.get('/api/auth/me'));
  });
});

describe('failed logins', () => {
  it('at most RATE_LIMIT_LOGIN_FAILURES attempts per account + IP, then 429 even with the right password', async () => {
    const s = await serve({ RATE_LIMIT_LOGIN_FAILURES: '4' });
    const c = new ApiClient(s.url);
    const attempt = (email: string, password: string) => c.post('/api/auth/login', { email, password });
    const failures = await times(4, () => attempt(fx.users.admin.email, 'wrong guess number'));
    expect(failures.map((r) => r.status)).toEqual([401, 401, 401, 401]);
    expectRateLimited(await attempt(fx.users.admin.email, TEST_PASSWORD));
    // The same account in another case is the same account.
    expectRateLimited(await attempt(fx.users.admin.email.toUpperCase(), TEST_PASSWORD));
    // Another account from the same IP is not locked out.
    expect((await attempt(fx.users.receptionist.email, TEST_PASSWORD)).status).toBe(200);
  });

  it('a successful login forgets the earlier failures', async () => {
    const s = await serve({ RATE_LIMIT_LOGIN_FAILURES: '3' });
    const c = new ApiClient(s.url);
    const attempt = (password: string) => c.post('/api/auth/login', { email: fx.users.clinicianB.email, password });
    expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt(TEST_PASSWORD)).status).toBe(200);
    expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt('wrong')).status).toBe(401);
    expect((await attempt(TEST_PASSWORD)).status).toBe(200);
  });

  it('guessing the current password through a password change is limited the same way', async () => {
    const s = await serve({ RATE_LIMIT_LOGIN_FAILURES: '2' });
    const c = new ApiClient(s.url);
    await c.login(fx.users.clinicianA.email, TEST_PASSWORD);
    const guess = () =>
      c.post('/api/auth/password', { current_password: 'guess guess guess', new_password: 'whatever whatever' });
    expect((await guess()).status).toBe(422);
    expect((await guess()).status).toBe(422);
    expectRateLimited(await guess());
  });

  it('delays grow from the 3rd failure and stop at the maximum', () => {
    expect(LOGIN_FREE_FAILURES).toBe(2);
    const delays = [3, 4, 5, 6, 7, 20].map((n) => loginDelay(n, 2000));
    expect(delays).toEqual([500, 1000, 1500, 2000, 2000, 2000]);
    // Before a cap: nothing up to 80 %, then linear up to the maximum at the cap.
    expect(capDelay(80, 80, 100, 2000)).toBe(0);
    expect(capDelay(90, 80, 100, 2000)).toBe(1000);
    expect(capDelay(100, 80, 100, 2000)).toBe(2000);
  });
});

describe('RATE_LIMIT_STORE=postgres', () => {
  it('two app instances share one budget per user', async () => {
    const env = { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_USER_PER_HOUR: '6' };
    const [one, two] = [await serve(env), await serve(env)];
    const a = new ApiClient(one.url);
    await a.login(fx.users.receptionist.email, TEST_PASSWORD);
    const b = new ApiClient(two.url);
    b.cookie = a.cookie; // the same session, through the other instance
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await a.get('/api/auth/me')).status, (await b.get('/api/auth/me')).status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200]);
    expectRateLimited(await a.get('/api/auth/me'));
    expectRateLimited(await b.get('/api/auth/me'));
    const { rows } = await db.pool.query<{ hits: number }>(`SELECT hits FROM rate_limit_hits WHERE key = $1`, [
      `user:${fx.users.receptionist.id}`,
    ]);
    expect(rows[0]!.hits).toBe(8);
  });

  it('failed logins counted on one instance block the other', async () => {
    const env = { RATE_LIMIT_STORE: 'postgres', RATE_LIMIT_LOGIN_FAILURES: '2' };
    const [one, two] = [await serve(env), await serve(env)];
    const body = { email: fx.users.clinicianB.email, password: 'not it at all' };
    expect((await new ApiClient(one.url).post('/api/auth/login', body)).status).toBe(401);
    expect((await new ApiClient(two.url).post('/api/auth/login', body)).status).toBe(401);
    expectRateLimited(await new ApiClient(one.url).post('/api/auth/login', body));
    expectRateLimited(await new ApiClient(two.url).post('/api/auth/login', { ...body, password: TEST_PASSWORD }));
  });
});
