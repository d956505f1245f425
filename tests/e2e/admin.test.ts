// The admin pages in headless Chromium against the real server: the sync status page shows
// two devices in their true state and follows the offline one catching up without a reload;
// the users and audit screens work for an admin and are refused to a receptionist.
// Devices report through the app's own heartbeat sender (src/lib/devices/heartbeat.ts).
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeartbeats, type HeartbeatState } from '../../src/lib/devices/heartbeat.js';
import type { Heartbeat } from '../../src/lib/shared/device-schemas.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import { ApiClient } from '../setup/server.js';
import {
  login,
  openBrowser,
  SHOTS_DIR,
  startE2EServer,
  waitForFirstSync,
  type Browser,
  type E2EServer,
} from './helpers.js';

const ARTIFACTS = path.join(SHOTS_DIR, 'e2e-admin');
/** expect.poll with room for a busy machine (its default gives up after 1 s). */
const poll = <T>(fn: () => Promise<T>, options: { timeout?: number } = {}) =>
  expect.poll(fn, { timeout: 15_000, ...options });
let srv: E2EServer;
let base: string;
let fx: Fixture;
const browsers: Browser[] = [];

/** A fresh browser profile, logged in through the app's login page, first sync done. */
async function appSession(email: string): Promise<Page> {
  const b = await openBrowser();
  browsers.push(b);
  await login(b.page, base, email, TEST_PASSWORD);
  await waitForFirstSync(b.page);
  return b.page;
}

/** A device reporting through the app's heartbeat sender from here (its state is ours to set). */
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
  srv = await startE2EServer({ seed: 'none', prepare: async (db) => void (fx = await createFixture(db.pool)) });
  base = srv.url;
  await mkdir(ARTIFACTS, { recursive: true });
});
afterAll(async () => {
  for (const b of browsers) await b.close().catch(() => {});
  await srv?.stop();
});

let adminPage: Page | undefined;
let receptionPage: Page | undefined;
const asAdmin = async () => (adminPage ??= await appSession(fx.users.admin.email));
const asReception = async () => (receptionPage ??= await appSession(fx.users.receptionist.email));

describe('admin pages in Chromium', () => {
  it('shows a syncing browser and an offline device in their true state, then the offline one catching up', async () => {
    // A receptionist's real app session: it syncs and reports itself with heartbeats.
    await asReception();
    // A clinician's tablet that went offline with two writes in its outbox 4 minutes ago.
    const offline = await device(fx.users.clinicianA.email, {
      online: false,
      outbox_pending: 2,
      outbox_rejected: 0,
      last_synced_at: new Date(Date.now() - 4 * 60_000).toISOString(),
    });
    const page = await asAdmin();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      await page.getByRole('link', { name: 'Admin' }).click();
      await page.waitForURL(/\/admin\/sync$/);
      const rowOf = (id: string) => page.locator(`tr[data-device-id="${id}"]`);
      const receptionRow = page.locator('tr[data-device-id]').filter({ hasText: fx.users.receptionist.email });
      await poll(() => receptionRow.count(), { timeout: 30_000 }).toBe(1);
      await poll(() => receptionRow.getAttribute('data-health')).toBe('green');
      expect(await receptionRow.innerText()).toMatch(/Chrome \d+/);
      const { rows } = await srv.db.pool.query(`SELECT shapes, user_agent FROM devices WHERE user_id = $1`, [
        fx.users.receptionist.id,
      ]);
      expect(rows).toHaveLength(1);
      expect(rows[0].shapes.appointments).toMatch(/^\d+_\d+$/);

      await poll(() => rowOf(offline.id).getAttribute('data-health')).toBe('amber');
      await poll(() => rowOf(offline.id).innerText()).toMatch(/2 pending writes.*offline|offline.*2 pending writes/s);
      expect(await rowOf(offline.id).innerText()).toContain(fx.users.clinicianA.email);
      await poll(() => page.getByTestId('replication-panel').innerText()).toMatch(/consumer attached/);
      // The app's shapes are listed, as the sync service reports them.
      await poll(() => page.locator('table').nth(1).innerText()).toContain('appointments');
      await page.screenshot({ path: path.join(ARTIFACTS, 'sync-status-offline.png'), fullPage: true });

      // Back online: the outbox drains and sync catches up; the page follows without a reload.
      Object.assign(offline.state, { online: true, outbox_pending: 0, last_synced_at: new Date().toISOString() });
      offline.sender.notify();
      await poll(() => rowOf(offline.id).getAttribute('data-health'), { timeout: 20_000 }).toBe('green');
      await page.screenshot({ path: path.join(ARTIFACTS, 'sync-status-caught-up.png'), fullPage: true });
      expect(errors).toEqual([]);
    } finally {
      offline.sender.stop();
    }
  });

  it('lets an admin create, re-role and deactivate a user, and read and verify the audit log', async () => {
    // An address of its own per attempt: a retry must not meet the first attempt's user.
    const email = `new.reception.${Date.now()}@test.clinic`;
    const page = await asAdmin();
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByText('New user').click();
    const form = page.getByRole('form', { name: 'Create user' });
    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Full name').fill('New Reception');
    await form.getByLabel('Password').fill('a-long-enough-password');
    await form.getByRole('button', { name: 'Create user' }).click();
    const row = page.locator(`tr[data-user-email="${email}"]`);
    await poll(() => row.count()).toBe(1);

    await row.getByLabel(`Role of ${email}`).selectOption('admin');
    await row.getByRole('button', { name: 'Save role' }).click();
    await poll(() => page.getByTestId('users-notice').innerText()).toContain('role is now admin');
    await row.getByRole('button', { name: 'Deactivate' }).click();
    await poll(() => row.innerText()).toContain('deactivated');
    const { rows } = await srv.db.pool.query(`SELECT id, role, active FROM users WHERE email = $1`, [email]);
    expect(rows[0]).toMatchObject({ role: 'admin', active: false });
    const newUserId = rows[0].id as string;
    await page.screenshot({ path: path.join(ARTIFACTS, 'users.png') });

    await page.getByRole('link', { name: 'Audit log' }).click();
    const filters = page.getByRole('form', { name: 'Filter the audit log' });
    await filters.getByLabel('Entity').fill('user');
    await filters.getByLabel('Action').fill('user.create');
    await filters.getByRole('button', { name: 'Apply' }).click();
    await poll(() => page.getByText(/Page 1 of 1 · \d+ rows/).innerText()).toBe('Page 1 of 1 · 1 rows');
    expect(await page.getByTestId('audit-table').innerText()).toContain(newUserId);
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    await poll(() => page.getByTestId('verify-result').innerText()).toMatch(/Chain intact: \d+ rows checked/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'audit.png') });
  });

  it("shows reception today's flow from the local replica: waiting since when, in progress", async () => {
    const api = new ApiClient(base, base);
    await api.login(fx.users.receptionist.email, TEST_PASSWORD);
    // Visits that start this minute: a booking may not start in the past, and check-in and
    // start happen on the appointment's clinic day.
    const hour = new Date();
    hour.setUTCSeconds(0, 0);
    const setStatus = async (id: string, status: string) => {
      const moved = await api.post(`/api/appointments/${id}/status`, { status }, { 'idempotency-key': randomUUID() });
      expect(moved.status).toBe(200);
    };
    const visit = async (patient: string, doctor: string, statuses: string[]) => {
      const booked = await api.post('/api/appointments', {
        id: randomUUID(),
        patient_id: patient,
        doctor_id: doctor,
        starts_at: hour.toISOString(),
        duration_minutes: 30,
        urgency: 'emergency',
      });
      expect(booked.status).toBe(201);
      for (const status of statuses) await setStatus(booked.body.appointment.id, status);
      return booked.body.appointment.id as string;
    };
    const waitingId = await visit(fx.patients[2]!, fx.doctorA, ['checked_in']);
    const withDoctorId = await visit(fx.patients[3]!, fx.doctorB, ['checked_in', 'in_progress']);
    // A reception desk that opens the app now: the visits come with its first sync.
    const page = await appSession(fx.users.receptionist.email);
    await page.getByRole('link', { name: 'Flow board' }).click();
    await page.waitForURL(/\/admin\/flow$/);
    const card = (id: string) => page.locator(`li[data-appointment-id="${id}"]`);
    await poll(() => card(waitingId).innerText(), { timeout: 30_000 }).toContain('Patient 3');
    await poll(() => card(withDoctorId).innerText()).toContain('Patient 4');
    expect(await page.getByTestId('waiting-count').innerText()).toBe('1');
    expect(await page.getByTestId('in-progress-count').innerText()).toBe('1');
    expect(await card(waitingId).getAttribute('class')).toMatch(/\bok\b/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'flow-board.png') });

    // The clinician calls the waiting patient in: the board follows live, without a reload.
    await setStatus(waitingId, 'in_progress');
    await poll(() => page.getByTestId('in-progress-count').innerText(), { timeout: 30_000 }).toBe('2');
    expect(await page.getByTestId('waiting-count').innerText()).toBe('0');
  });

  it('refuses the admin screens to a receptionist', async () => {
    const page = await asReception();
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    for (const screen of ['sync', 'users', 'audit']) {
      await page.goto(`${base}/admin/${screen}`);
      await poll(() => page.getByRole('alert').first().innerText(), { timeout: 30_000 }).toContain('Admins only');
      expect(await page.locator('table').count()).toBe(0);
    }
  });
});
