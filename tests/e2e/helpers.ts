// End-to-end helpers: the real server (startServer: migrations, sync service, static app)
// on a fresh test database, the client built once, and Debian's Chromium with a fresh
// profile per test.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { buildClient, isClientBuildCurrent } from '../../server/build-client.js';
import { loadConfig } from '../../server/config.js';
import { createLogger } from '../../server/logger.js';
import { startServer, type RunningServer } from '../../server/server.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../../bench/chromium.js';

export const SHOTS_DIR = path.resolve('test-results');

let building: Promise<void> | null = null;
/** Builds the client once per run if build/ is missing or older than its sources. */
export function ensureClientBuilt(): Promise<void> {
  if (isClientBuildCurrent()) return Promise.resolve();
  building ??= buildClient();
  return building;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface E2EServer {
  url: string;
  db: TestDatabase;
  server: RunningServer;
  /** An API client with the Origin the server expects, not logged in. */
  api(): ApiClient;
  stop(): Promise<void>;
}

/**
 * Starts the real server on a new test database. `seed: 'demo'` loads the demo clinic
 * (password demo-clinic-pass); otherwise the caller fills the database (e.g. createFixture).
 */
export async function startE2EServer({
  seed = 'demo',
  prepare,
  clientBuildDir,
}: {
  seed?: 'demo' | 'none';
  prepare?: (db: TestDatabase) => Promise<void>;
  /** Serve this copy of the built client instead of build/ (a test changes it to ship a new version). */
  clientBuildDir?: string;
} = {}): Promise<E2EServer> {
  await ensureClientBuilt();
  const db = await createTestDatabase();
  if (prepare) await prepare(db);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    PUBLIC_ORIGIN: origin,
    SEED_DEMO: seed === 'demo' ? 'true' : 'false',
    SYNC_SLOT_NAME: `e2e_${db.name.replace(/[^a-z0-9_]/g, '_')}`.slice(0, 63),
    SYNC_LONG_POLL_MS: '3000',
    RATE_LIMIT_ANON_PER_HOUR: '100000',
    RATE_LIMIT_USER_PER_HOUR: '100000',
    RATE_LIMIT_WRITES_PER_HOUR: '100000',
    RATE_LIMIT_SYNC_PER_HOUR: '100000',
    RATE_LIMIT_LOGIN_FAILURES: '1000',
  });
  const server = await startServer(config, createLogger('silent'), { buildIfMissing: false, clientBuildDir });
  return {
    url: origin,
    db,
    server,
    api: () => new ApiClient(origin, origin),
    async stop() {
      await server.stop();
      await db.drop();
    },
  };
}

export interface Browser {
  context: BrowserContext;
  page: Page;
  profileDir: string;
  close(): Promise<void>;
}

/** Chromium with a fresh profile (its own storage, service worker and OPFS). */
export async function openBrowser(profileDir?: string): Promise<Browser> {
  const dir = profileDir ?? (await mkdtemp(path.join(os.tmpdir(), 'clinic-e2e-profile-')));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 860 },
    args: [...CHROMIUM_ARGS],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    profileDir: dir,
    async close() {
      await context.close();
      if (!profileDir) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function login(page: Page, baseUrl: string, email: string, password: string): Promise<void> {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/schedule/);
}

/**
 * Waits until the first sync finished in this browser (the worker wrote its marker) and the
 * service worker is active, its precache complete (at most 30 s more), so that a test going
 * offline next can still navigate: a first sync can now end before the precache does.
 */
export async function waitForFirstSync(page: Page, timeoutMs = 60_000): Promise<void> {
  await eventually(
    () => localQuery(page, `SELECT 1 FROM local_meta WHERE key = 'initial_sync_done'`).catch(() => []),
    (rows) => rows.length > 0,
    timeoutMs,
  );
  await page.evaluate(() =>
    Promise.race([navigator.serviceWorker?.ready, new Promise((resolve) => setTimeout(resolve, 30_000))]).then(
      () => undefined,
    ),
  );
}

/** Runs SQL against the page's local database (through its PGlite worker). */
export async function localQuery<T = Record<string, unknown>>(
  page: Page,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  return page.evaluate(
    async ([s, p]) => {
      const w = window as unknown as {
        __clinicDb?: () => Promise<{ query: (sql: string, params: unknown[]) => Promise<{ rows: unknown[] }> }>;
      };
      const db = await w.__clinicDb!();
      return JSON.parse(JSON.stringify((await db.query(s, p)).rows));
    },
    [sql, params] as const,
  ) as Promise<T[]>;
}

export async function eventually<T>(
  fn: () => Promise<T>,
  check: (value: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  // A read may hit a page that is navigating (e.g. logout going to /login): that attempt
  // doesn't count, the next one decides.
  const attempt = async (): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> => {
    try {
      return { ok: true, value: await fn() };
    } catch (error) {
      return { ok: false, error };
    }
  };
  let last = await attempt();
  while (!last.ok || !check(last.value)) {
    if (Date.now() > until) {
      if (!last.ok) throw last.error;
      throw new Error(`condition not met in ${timeoutMs} ms; last value: ${JSON.stringify(last.value)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
    last = await attempt();
  }
  return last.value;
}

/**
 * Navigates inside the running app the way a user's click on a link does (SvelteKit's
 * client-side router, no page load): the app, its database worker and the network state stay.
 */
export async function clientNavigate(page: Page, pathAndQuery: string): Promise<void> {
  await page.evaluate((href) => {
    const link = document.createElement('a');
    link.href = href;
    document.body.append(link);
    link.click();
    link.remove();
  }, pathAndQuery);
  await page.waitForURL((url) => url.pathname + url.search === pathAndQuery);
}

/**
 * One server per test file on a small fixture clinic (no demo seed): started before the
 * file's tests, stopped after them; `use` receives the server and the fixture.
 */
export function useFixtureServer(patients: number, use: (srv: E2EServer, fixture: Fixture) => void): void {
  let srv: E2EServer | undefined;
  beforeAll(async () => {
    await mkdir(SHOTS_DIR, { recursive: true });
    let fixture: Fixture | undefined;
    srv = await startE2EServer({
      seed: 'none',
      prepare: async (db) => void (fixture = await createFixture(db.pool, { patients })),
    });
    use(srv, fixture!);
  });
  afterAll(() => srv?.stop());
}
