// The admin pages in headless Chromium against the real server: the sync status page shows
// two devices in their true state and follows the offline one catching up without a reload;
// the users and audit screens work for an admin and are refused to a receptionist.
// Devices report through the app's own heartbeat sender (src/lib/devices/heartbeat.ts).
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../server/app.js';
import { buildClient } from '../../server/build-client.js';
import { loadConfig } from '../../server/config.js';
import { isClientBuilt } from '../../server/http/static-app.js';
import { createLogger } from '../../server/logger.js';
import type { AppDeps } from '../../server/deps.js';
import { ReplicationSampler } from '../../server/observability/sampler.js';
import type { SyncService } from '../../server/sync/service.js';
import { startSyncService } from '../../server/sync/start.js';
import { startHeartbeats, type HeartbeatState } from '../../src/lib/devices/heartbeat.js';
import type { Heartbeat } from '../../src/lib/shared/device-schemas.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-results/e2e-admin');
let db: TestDatabase;
let fx: Fixture;
let server: http.Server;
let base: string;
let browser: Browser;
let sync: SyncService;
let sampler: ReplicationSampler;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** A browser context signed in as `email` (the session cookie from a real login). */
async function signedIn(email: string): Promise<BrowserContext> {
  const api = new ApiClient(base, base);
  await api.login(email, TEST_PASSWORD);
  const [name, value] = api.cookie.split('=') as [string, string];
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
  await context.addCookies([{ name, value, url: base }]);
  return context;
}

/** A device: an API client for its user plus the app's heartbeat sender. */
async function device(email: string, state: Omit<HeartbeatState, 'device_id' | 'app_version' | 'shapes'>) {
  const api = new ApiClient(base, base);
  await api.login(email, TEST_PASSWORD);
  const current: HeartbeatState = {
    device_id: randomUUID(),
    app_version: '1.0.0',
    shapes: { appointments: '-1' },
    ...state,
  };
  const sender = startHeartbeats({
    read: () => ({ ...current }),
    debounceMs: 10,
    send: async (body: Heartbeat) => {
      const res = await api.post('/api/devices/heartbeat', body, { 'user-agent': 'Mozilla/5.0 (iPad) Safari/605.1' });
      return new Response(null, { status: res.status });
    },
  });
  await sender.idle();
  return { id: current.device_id, state: current, sender };
}

beforeAll(async () => {
  if (!isClientBuilt()) await buildClient();
  db = await createTestDatabase();
  fx = await createFixture(db.pool);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const slot = `e2e_admin_${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    PUBLIC_ORIGIN: base,
    SYNC_SLOT_NAME: slot,
  });
  // The whole server as npm start runs it: sync service, replication sampler (every second here).
  const deps: AppDeps = { config, pool: db.pool, logger: createLogger('silent'), databaseUrl: db.url, readiness: {} };
  sync = await startSyncService(deps);
  sampler = new ReplicationSampler({ pool: db.pool, slotName: slot, intervalMs: 1000 });
  sampler.start();
  deps.replicationSampler = sampler;
  server = http.createServer(createApp(deps));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  await mkdir(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await sampler?.stop();
  await sync?.stop();
  await db?.drop();
});

describe('admin pages in Chromium', () => {
  it('shows each device in its true state and follows the offline one catching up', async () => {
    const inSync = await device(fx.users.receptionist.email, {
      online: true,
      outbox_pending: 0,
      outbox_rejected: 0,
      last_synced_at: new Date().toISOString(),
    });
    const offline = await device(fx.users.clinicianA.email, {
      online: false,
      outbox_pending: 2,
      outbox_rejected: 0,
      last_synced_at: new Date(Date.now() - 4 * 60_000).toISOString(),
    });
    const reception = new ApiClient(base, base);
    await reception.login(fx.users.receptionist.email, TEST_PASSWORD);
    const context = await signedIn(fx.users.admin.email);
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.goto(`${base}/admin/sync`);
      const rowOf = (id: string) => page.locator(`tr[data-device-id="${id}"]`);
      await expect.poll(() => rowOf(inSync.id).getAttribute('data-health')).toBe('green');
      await expect.poll(() => rowOf(offline.id).getAttribute('data-health')).toBe('amber');
      await expect
        .poll(() => rowOf(offline.id).innerText())
        .toMatch(/2 pending writes.*offline|offline.*2 pending writes/s);
      expect(await rowOf(offline.id).innerText()).toContain(fx.users.clinicianA.email);
      await expect.poll(() => page.getByTestId('replication-panel').innerText()).toMatch(/consumer attached/);
      // A booking travels through replication into the shape logs: the latency chart gets a point.
      await reception.get('/v1/shape?table=appointments&offset=-1');
      const booked = await reception.post('/api/appointments', {
        id: randomUUID(),
        patient_id: fx.patients[0],
        doctor_id: fx.doctorA,
        starts_at: '2031-03-03T10:00:00.000Z',
        duration_minutes: 30,
        urgency: 'routine',
      });
      expect(booked.status).toBe(201);
      await expect.poll(() => page.locator('polyline.latency').count(), { timeout: 20_000 }).toBe(1);
      await expect.poll(() => page.locator('table').nth(1).innerText()).toContain('appointments');
      await page.screenshot({ path: path.join(ARTIFACTS, 'sync-status-offline.png'), fullPage: true });

      // Back online: the outbox drains and sync catches up; the page follows by itself.
      Object.assign(offline.state, { online: true, outbox_pending: 0, last_synced_at: new Date().toISOString() });
      offline.sender.notify();
      await expect.poll(() => rowOf(offline.id).getAttribute('data-health'), { timeout: 20_000 }).toBe('green');
      await page.screenshot({ path: path.join(ARTIFACTS, 'sync-status-caught-up.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      inSync.sender.stop();
      offline.sender.stop();
      await context.close();
    }
  });

  it('lets an admin create, re-role and deactivate a user, and read and verify the audit log', async () => {
    const context = await signedIn(fx.users.admin.email);
    const page = await context.newPage();
    try {
      await page.goto(`${base}/admin/users`);
      await page.getByText('New user').click();
      const form = page.getByRole('form', { name: 'Create user' });
      await form.getByLabel('Email').fill('new.reception@test.clinic');
      await form.getByLabel('Full name').fill('New Reception');
      await form.getByLabel('Password').fill('a-long-enough-password');
      await form.getByRole('button', { name: 'Create user' }).click();
      const row = page.locator('tr[data-user-email="new.reception@test.clinic"]');
      await expect.poll(() => row.count()).toBe(1);

      await row.getByLabel('Role of new.reception@test.clinic').selectOption('admin');
      await row.getByRole('button', { name: 'Save role' }).click();
      await expect.poll(() => page.getByRole('status').innerText()).toContain('role is now admin');
      await row.getByRole('button', { name: 'Deactivate' }).click();
      await expect.poll(() => row.innerText()).toContain('deactivated');
      const { rows } = await db.pool.query(
        `SELECT id, role, active FROM users WHERE email = 'new.reception@test.clinic'`,
      );
      expect(rows[0]).toMatchObject({ role: 'admin', active: false });
      const newUserId = rows[0].id as string;
      await page.screenshot({ path: path.join(ARTIFACTS, 'users.png') });

      await page.goto(`${base}/admin/audit`);
      const filters = page.getByRole('form', { name: 'Filter the audit log' });
      await filters.getByLabel('Entity').fill('user');
      await filters.getByLabel('Action').fill('user.create');
      await filters.getByRole('button', { name: 'Apply' }).click();
      await expect.poll(() => page.getByText(/Page 1 of 1 · \d+ rows/).innerText()).toBe('Page 1 of 1 · 1 rows');
      expect(await page.getByTestId('audit-table').innerText()).toContain(newUserId);
      await page.getByRole('button', { name: 'Verify the chain' }).click();
      await expect.poll(() => page.getByTestId('verify-result').innerText()).toMatch(/Chain intact: \d+ rows checked/);
      await page.screenshot({ path: path.join(ARTIFACTS, 'audit.png') });
    } finally {
      await context.close();
    }
  });

  it('refuses the admin screens to a receptionist', async () => {
    const context = await signedIn(fx.users.receptionist.email);
    const page = await context.newPage();
    try {
      for (const screen of ['sync', 'users', 'audit']) {
        await page.goto(`${base}/admin/${screen}`);
        await expect.poll(() => page.getByRole('alert').innerText()).toContain('Admins only');
        expect(await page.locator('table').count()).toBe(0);
      }
    } finally {
      await context.close();
    }
  });
});
