// Starts the real HTTP app on an ephemeral port against a test database, and an HTTP client
// that keeps a session cookie and sends the Origin header the CSRF check wants.
import type { AddressInfo } from 'node:net';
import { createApp } from '../../server/app.js';
import { loadConfig, type Config } from '../../server/config.js';
import { createHttpServer } from '../../server/http/listen.js';
import type { AppDeps } from '../../server/deps.js';
import { createLogger } from '../../server/logger.js';
import type { TestDatabase } from './database.js';

export interface TestServer {
  url: string;
  config: Config;
  deps: AppDeps;
  close(): Promise<void>;
}

export async function startTestServer(
  db: TestDatabase,
  env: Record<string, string> = {},
  extendDeps: (deps: AppDeps) => AppDeps | Promise<AppDeps> = (d) => d,
): Promise<TestServer> {
  // PUBLIC_ORIGIN is fixed so the Origin header our client sends is known before listening.
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: '0',
    PUBLIC_ORIGIN: 'http://clinic.test',
    RATE_LIMIT_ANON_PER_HOUR: '100000',
    RATE_LIMIT_USER_PER_HOUR: '100000',
    RATE_LIMIT_WRITES_PER_HOUR: '100000',
    RATE_LIMIT_LOGIN_FAILURES: '1000',
    ...env,
  });
  const deps = await extendDeps({
    config,
    pool: db.pool,
    logger: createLogger(config.logLevel),
    databaseUrl: db.url,
    readiness: {},
  });
  // The production server's keep-alive timeouts: a test that blocks the event loop for a few
  // seconds (a PGlite start) must not find its next request's socket closed under it.
  const server = createHttpServer(createApp(deps));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    deps,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny fetch wrapper with a cookie jar: one instance is one browser-like client. */
export class ApiClient {
  cookie = '';
  constructor(
    readonly baseUrl: string,
    readonly origin = 'http://clinic.test',
  ) {}

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    const res = await fetch(this.baseUrl + path, {
      method,
      headers: {
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(method !== 'GET' && method !== 'HEAD' ? { origin: this.origin } : {}),
        ...(this.cookie ? { cookie: this.cookie } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const setCookie = res.headers.get('set-cookie');
    if (setCookie) {
      const pair = setCookie.split(';', 1)[0]!;
      this.cookie = /=$/.test(pair) || /Expires=Thu, 01 Jan 1970/.test(setCookie) ? '' : pair;
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  get<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('POST', path, body ?? {}, headers);
  }
  patch<T = any>(path: string, body?: unknown, headers?: Record<string, string>) {
    return this.request<T>('PATCH', path, body ?? {}, headers);
  }
  delete<T = any>(path: string, headers?: Record<string, string>) {
    return this.request<T>('DELETE', path, undefined, headers);
  }

  async login(email: string, password: string): Promise<ApiResponse> {
    const res = await this.post('/api/auth/login', { email, password });
    if (res.status !== 200) throw new Error(`login as ${email} failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res;
  }
}
