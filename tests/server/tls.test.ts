// HTTPS from the server itself: a certificate from the local CA (npm run tls:local's code),
// HTTP/2 with many requests on one connection, HTTP/1.1 on the same port, Secure cookies, and
// a login and session over HTTP/2 through the real app.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { listen, type Listening } from '../../server/http/listen.js';
import { createLogger } from '../../server/logger.js';
import { createCa, createServerCert } from '../../server/tls/local-ca.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';

const ORIGIN = 'https://clinic.test';
let db: TestDatabase;
let fx: Fixture;
let dir: string;
let server: Listening;
let ca: string;

beforeAll(async () => {
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  dir = await mkdtemp(path.join(os.tmpdir(), 'clinic-tls-'));
  const authority = createCa('Test clinic CA');
  ca = authority.cert;
  const leaf = createServerCert(authority, ['localhost', '127.0.0.1']);
  await writeFile(path.join(dir, 'server.crt'), leaf.cert);
  await writeFile(path.join(dir, 'server.key'), leaf.key);
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    HOST: '127.0.0.1',
    PUBLIC_ORIGIN: ORIGIN,
    TLS_CERT: path.join(dir, 'server.crt'),
    TLS_KEY: path.join(dir, 'server.key'),
  });
  const app = createApp({ config, pool: db.pool, logger: createLogger('silent'), databaseUrl: db.url, readiness: {} });
  server = await listen(app, config);
});
afterAll(async () => {
  await server?.close();
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function h2request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: unknown,
): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    let data = '';
    let head: http2.IncomingHttpHeaders = {};
    req.on('response', (h) => (head = h));
    req.on('data', (d) => (data += d));
    req.on('end', () =>
      resolve({ status: Number(head[':status']), headers: head, body: data ? JSON.parse(data) : null }),
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('TLS_CERT / TLS_KEY', () => {
  it('speaks HTTP/2: login, session and many requests at once on one connection', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const session = http2.connect(`https://localhost:${server.port}`, { ca });
    try {
      await new Promise((resolve, reject) => session.once('connect', resolve).once('error', reject));
      expect(session.alpnProtocol).toBe('h2');
      const login = await h2request(
        session,
        { ':method': 'POST', ':path': '/api/auth/login', 'content-type': 'application/json', origin: ORIGIN },
        { email: fx.users.receptionist.email, password: TEST_PASSWORD },
      );
      expect(login.status).toBe(200);
      const setCookie = String(login.headers['set-cookie']);
      expect(setCookie).toMatch(/; Secure/i);
      expect(login.headers['strict-transport-security']).toBeTruthy();
      const cookie = setCookie.split(';', 1)[0]!;
      // More parallel requests than HTTP/1.1's six connections per host, on one connection.
      const answers = await Promise.all(
        Array.from({ length: 12 }, () => h2request(session, { ':path': '/api/auth/session', cookie })),
      );
      for (const a of answers) {
        expect(a.status).toBe(200);
        expect(a.body.user.email).toBe(fx.users.receptionist.email);
      }
      // Bad input still gets the app's own answer through the relay.
      const bad = await h2request(
        session,
        {
          ':method': 'POST',
          ':path': '/api/auth/login',
          'content-type': 'application/json',
          origin: 'https://evil.test',
        },
        {},
      );
      expect(bad.status).toBe(403);
      expect(bad.body.error.code).toBe('origin_mismatch');
    } finally {
      session.close();
    }
  });

  it('serves HTTP/1.1 clients on the same port, for an IP address in the certificate', async () => {
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(`https://127.0.0.1:${server.port}/healthz`, { ca }, (r) => {
          let body = '';
          r.on('data', (d) => (body += d));
          r.on('end', () => resolve({ status: r.statusCode!, body }));
        })
        .on('error', reject);
    });
    expect(res.status).toBe(200);
  });

  it('refuses a client that does not trust the local CA', async () => {
    const err = await new Promise<Error>((resolve) => {
      https.get(`https://localhost:${server.port}/healthz`, (r) => r.resume()).on('error', resolve);
    });
    expect(err.message).toMatch(/self.signed|unable to verify|certificate/i);
  });
});
