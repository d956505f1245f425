// Security headers, CORS, the Origin check (CSRF) and request hygiene, over real HTTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient, startTestServer, type TestServer } from '../setup/server.js';

const OTHER_APP = 'https://kiosk.clinic.test';

let db: TestDatabase;
let fx: Fixture;
let server: TestServer;
let admin: ApiClient;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  server = await startTestServer(db, { CORS_ORIGINS: OTHER_APP });
  admin = new ApiClient(server.url);
  await admin.login(fx.users.admin.email, TEST_PASSWORD);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
});

const validUser = () => ({
  email: `s${Math.random().toString(36).slice(2, 10)}@test.clinic`,
  full_name: 'Sec Test',
  role: 'receptionist',
  password: 'long enough password',
});

describe('headers', () => {
  it('sends a strict CSP that still allows the worker and WebAssembly, and no x-powered-by', async () => {
    const res = await fetch(`${server.url}/healthz`);
    const csp = res.headers.get('content-security-policy')!;
    const directives = Object.fromEntries(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives['default-src']).toEqual(["'self'"]);
    expect(directives['script-src']).toContain("'wasm-unsafe-eval'");
    expect(directives['script-src']).not.toContain("'unsafe-eval'");
    expect(directives['script-src']).not.toContain("'unsafe-inline'");
    expect(directives['worker-src']).toEqual(["'self'", 'blob:']);
    expect(directives['object-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toBeNull(); // http origin
  });

  it('adds HSTS and upgrade-insecure-requests for an https origin', async () => {
    const https = await startTestServer(db, { PUBLIC_ORIGIN: 'https://clinic.test' });
    try {
      const res = await fetch(`${https.url}/healthz`);
      expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
      expect(res.headers.get('content-security-policy')).toContain('upgrade-insecure-requests');
    } finally {
      await https.close();
    }
  });
});

describe('CORS', () => {
  it('allows only CORS_ORIGINS, with credentials and the electric-* headers exposed', async () => {
    const allowed = await fetch(`${server.url}/api/auth/me`, { headers: { origin: OTHER_APP } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe(OTHER_APP);
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('electric-offset');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('electric-handle');
    expect(allowed.headers.get('access-control-expose-headers')).toContain('retry-after');
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    const other = await fetch(`${server.url}/api/auth/me`, { headers: { origin: 'https://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers preflights for allowed origins only', async () => {
    const ok = await fetch(`${server.url}/api/users`, {
      method: 'OPTIONS',
      headers: { origin: OTHER_APP, 'access-control-request-method': 'POST' },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(ok.headers.get('access-control-allow-headers')).toContain('idempotency-key');
    const evil = await fetch(`${server.url}/api/users`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.test', 'access-control-request-method': 'POST' },
    });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('CSRF: the Origin check', () => {
  it('refuses a write with no Origin or a foreign one, even with a valid session', async () => {
    for (const origin of [undefined, 'https://evil.test', 'null', 'http://clinic.test.evil.test']) {
      const res = await fetch(`${server.url}/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', cookie: admin.cookie, ...(origin ? { origin } : {}) },
        body: JSON.stringify(validUser()),
      });
      expect(res.status, String(origin)).toBe(403);
      expect((await res.json()).error.code).toBe('origin_mismatch');
    }
    const logout = await fetch(`${server.url}/api/auth/logout`, { method: 'POST', headers: { cookie: admin.cookie } });
    expect(logout.status).toBe(403);
    expect((await admin.get('/api/auth/me')).status).toBe(200);
  });

  it('accepts PUBLIC_ORIGIN and CORS_ORIGINS; reads need no Origin', async () => {
    expect((await admin.post('/api/users', validUser())).status).toBe(201);
    const fromKiosk = new ApiClient(server.url, OTHER_APP);
    fromKiosk.cookie = admin.cookie;
    expect((await fromKiosk.post('/api/users', validUser())).status).toBe(201);
    expect((await admin.get('/api/users')).status).toBe(200);
  });

  it('in development, accepts every loopback name of the listening port, and nothing else', async () => {
    const login = (url: string, origin: string) =>
      fetch(`${url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ email: fx.users.admin.email, password: TEST_PASSWORD }),
      });
    // PUBLIC_ORIGIN unset: the server calls itself http://localhost:3999.
    const dev = await startTestServer(db, { NODE_ENV: 'development', PUBLIC_ORIGIN: '', PORT: '3999' });
    const prod = await startTestServer(db, { NODE_ENV: 'production', PUBLIC_ORIGIN: '', PORT: '3999' });
    try {
      for (const origin of ['http://localhost:3999', 'http://127.0.0.1:3999', 'http://[::1]:3999']) {
        expect((await login(dev.url, origin)).status, origin).toBe(200);
      }
      for (const origin of ['http://127.0.0.1:4000', 'http://192.168.1.20:3999', 'https://127.0.0.1:3999']) {
        expect((await login(dev.url, origin)).status, origin).toBe(403);
      }
      expect((await login(prod.url, 'http://localhost:3999')).status).toBe(200);
      expect((await login(prod.url, 'http://127.0.0.1:3999')).status).toBe(403);
    } finally {
      await dev.close();
      await prod.close();
    }
  });

  it('also guards login (login CSRF)', async () => {
    const res = await fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.test' },
      body: JSON.stringify({ email: fx.users.admin.email, password: TEST_PASSWORD }),
    });
    expect(res.status).toBe(403);
  });
});

describe('request hygiene', () => {
  it('a body over 64 KiB is 413 payload_too_large', async () => {
    const res = await admin.post('/api/users', { ...validUser(), full_name: 'x'.repeat(70 * 1024) });
    expect(res.status).toBe(413);
    expect(res.body.error.code).toBe('payload_too_large');
  });

  it('malformed JSON is 400 invalid_json, without parser internals', async () => {
    const res = await admin.request('POST', '/api/users', '{"email": "a@b.c",', { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.' } });
  });

  it('unknown fields are 422 naming them; wrong types name the field', async () => {
    const res = await admin.post('/api/users', { ...validUser(), is_superuser: true });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('validation_failed');
    expect(res.body.error.details.issues).toEqual([expect.objectContaining({ path: 'is_superuser' })]);
    const typed = await admin.post('/api/users', { ...validUser(), full_name: 42 });
    expect(typed.body.error.details.issues.map((i: { path: string }) => i.path)).toEqual(['full_name']);
    const notObject = await admin.post('/api/users', [1, 2, 3]);
    expect(notObject.status).toBe(422);
  });

  it('never answers with a stack trace or SQL', async () => {
    const bodies = [
      await admin.patch('/api/users/00000000-0000-4000-8000-00000000000z', { active: false }),
      await admin.get("/api/admin/audit?entity=' OR 1=1 --"),
      await admin.request('POST', '/api/users', '\u0000\u0001', { 'content-type': 'application/json' }),
      await admin.request('POST', '/api/auth/login', 'email=x', {
        'content-type': 'application/x-www-form-urlencoded',
      }),
    ];
    for (const res of bodies) {
      expect(res.status).toBeLessThan(500);
      const text = JSON.stringify(res.body);
      expect(text).not.toMatch(/\bat \w+.*\(.*:\d+:\d+\)|node_modules|SELECT|syntax error/);
    }
  });
});
