// Offline writes in headless Chromium against the real server and sync service: a booking
// made with no network survives a reload at once, is sent exactly once when the network is
// back and reaches a second browser; two offline browsers booking one slot end with one
// confirmed booking and one rejection whose suggested slot books with one tap.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import {
  localQuery,
  login,
  openBrowser,
  SHOTS_DIR,
  useFixtureServer,
  waitForFirstSync,
  type E2EServer,
} from './helpers.js';

const MONDAY = '2030-01-07';
let twoBrowserAttempts = 0;
let srv: E2EServer;
let fixture: Fixture;

useFixtureServer(6, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

async function ready(page: Page, email: string): Promise<void> {
  await login(page, srv.url, email, TEST_PASSWORD);
  await waitForFirstSync(page);
  // The service worker is active (its precache complete) before a test goes offline.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
}

/** Books through the form: doctor A, the patient whose name matches, the slot at `startsAt`. */
async function bookViaForm(page: Page, patientName: string, startsAt: string): Promise<string> {
  await page.goto(`${srv.url}/appointments/new?date=${startsAt.slice(0, 10)}&doctor=${fixture.doctorA}`);
  await page.getByPlaceholder('name, MRN or phone').fill(patientName);
  // Pick the patient by name: the list may still show the unfiltered results of an earlier
  // keystroke, whose first radio is someone else.
  await page.getByRole('radio', { name: patientName }).check();
  await page.locator(`[data-testid=free-slots] button[data-start="${startsAt}"]`).click();
  await page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

async function patientName(index: number): Promise<string> {
  const { rows } = await srv.db.pool.query('SELECT full_name FROM patients WHERE id = $1', [fixture.patients[index]]);
  return rows[0].full_name;
}

/** A booking made at the desk through the API (online): patient 5, 30 minutes. */
async function bookOnServer(doctorId: string, startsAt: string): Promise<string> {
  const id = crypto.randomUUID();
  const api = srv.api();
  await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
  const made = await api.request('POST', '/api/appointments', {
    id,
    patient_id: fixture.patients[5],
    doctor_id: doctorId,
    starts_at: startsAt,
    duration_minutes: 30,
  });
  expect(made.status).toBe(201);
  return id;
}

/**
 * An appointment that is on now (the clinic runs on UTC in tests): check-in and start are only
 * allowed on the appointment's clinic day, so these steps need today's rows. Written straight
 * into the database, as a booking made earlier would be (a booking may not start in the past).
 * Returns its id and clinic day.
 */
async function appointmentOfNow(doctorId: string, patient: number): Promise<{ id: string; day: string }> {
  const id = crypto.randomUUID();
  const now = Date.now();
  const dayStart = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate());
  // Ten minutes ago, unless that is yesterday: then in ten minutes. Either way, today; 30
  // minutes long, so the grid shows the full block with its one-tap button.
  const start = now - 10 * 60_000 >= dayStart ? now - 10 * 60_000 : now + 10 * 60_000;
  const startsAt = new Date(Math.floor(start / 60_000) * 60_000);
  await srv.db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, urgency)
     VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'routine')`,
    [id, fixture.patients[patient], doctorId, startsAt],
  );
  return { id, day: startsAt.toISOString().slice(0, 10) };
}

async function serverCount(id: string): Promise<number> {
  const { rows } = await srv.db.pool.query('SELECT count(*)::int AS n FROM appointments WHERE id = $1', [id]);
  return rows[0].n;
}

describe('offline writes', () => {
  it('offline booking -> reload offline (still pending) -> online -> confirmed once, also in a second browser', async () => {
    const a = await openBrowser();
    const b = await openBrowser();
    try {
      await ready(a.page, fixture.users.receptionist.email);
      await a.context.setOffline(true);
      const id = await bookViaForm(a.page, await patientName(0), `${MONDAY}T09:00:00.000Z`);
      // Reload at once: the write must already be durable.
      await a.page.reload();
      await expect
        .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 30_000 })
        .toContain('pending');
      await expect
        .poll(() => a.page.getByTestId('outbox-counter').textContent(), { timeout: 30_000 })
        .toContain('1 waiting to send');
      const queued = await localQuery<{ state: string }>(a.page, 'SELECT state FROM outbox WHERE id = $1', [id]);
      expect(queued).toEqual([{ state: 'pending' }]);
      await a.page.screenshot({ path: `${SHOTS_DIR}/offline-booking-pending.png`, fullPage: true });
      expect(await serverCount(id)).toBe(0);

      await a.context.setOffline(false);
      await expect
        .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
        .toContain('confirmed');
      expect(await serverCount(id)).toBe(1);
      expect(await localQuery(a.page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay')).toEqual([]);
      await expect
        .poll(() => a.page.getByTestId('outbox-counter').textContent(), { timeout: 30_000 })
        .toContain('all saved');

      await ready(b.page, fixture.users.admin.email);
      const seen = await localQuery<{ pending: boolean }>(b.page, 'SELECT pending FROM appointments WHERE id = $1', [
        id,
      ]);
      expect(seen).toEqual([{ pending: false }]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  // Two browsers, a rejection, the outbox page and a rebooking: minutes on a loaded machine.
  it('two offline browsers book one slot: one confirmed, the other rejected with suggestions; a suggestion books', async () => {
    const a = await openBrowser();
    const b = await openBrowser();
    try {
      await ready(a.page, fixture.users.receptionist.email);
      await ready(b.page, fixture.users.admin.email);
      await a.context.setOffline(true);
      await b.context.setOffline(true);
      // A day of its own per attempt: a retry must not meet the first attempt's booking.
      const slot = `2030-01-${String(8 + twoBrowserAttempts++).padStart(2, '0')}T11:00:00.000Z`;
      const first = await bookViaForm(a.page, await patientName(1), slot);
      const second = await bookViaForm(b.page, await patientName(2), slot);

      await a.context.setOffline(false);
      await expect
        .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
        .toContain('confirmed');
      await b.context.setOffline(false);
      // The refused booking is shown as not booked (no status, no write state, no actions).
      await expect.poll(() => b.page.getByTestId('refused-booking').count(), { timeout: 60_000 }).toBe(1);
      expect(await serverCount(first)).toBe(1);
      expect(await serverCount(second)).toBe(0);

      await b.page.getByTestId('outbox-counter').click();
      const rejected = b.page.locator('[data-testid=outbox-entry][data-state=rejected]');
      // The outbox page sets up its live query first: seconds on a loaded machine.
      await expect.poll(() => rejected.count(), { timeout: 30_000 }).toBe(1);
      expect(await rejected.locator('[data-code]').getAttribute('data-code')).toBe('slot_conflict');
      expect(await rejected.textContent()).toContain('The doctor already has another appointment at that time.');
      const suggestion = rejected.locator('[data-testid=suggestions] button').first();
      const startsAt = await suggestion.getAttribute('data-start');
      await b.page.screenshot({ path: `${SHOTS_DIR}/offline-booking-conflict.png`, fullPage: true });
      await suggestion.click();
      await b.page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
      const rebooked = b.page.url().split('/').pop()!;
      await expect
        .poll(() => b.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
        .toContain('confirmed');
      const { rows } = await srv.db.pool.query('SELECT starts_at, patient_id FROM appointments WHERE id = $1', [
        rebooked,
      ]);
      expect(rows).toEqual([{ starts_at: new Date(startsAt!), patient_id: fixture.patients[2] }]);
      await expect
        .poll(() => b.page.getByTestId('outbox-counter').textContent(), { timeout: 30_000 })
        .toContain('all saved');
    } finally {
      await a.close();
      await b.close();
    }
  }, 240_000);

  it('tab closed while an entry is sending (answer never received) -> reopened -> replayed -> one row', async () => {
    const profile = await mkdtemp(path.join(os.tmpdir(), 'clinic-e2e-outbox-'));
    let a = await openBrowser(profile);
    try {
      await ready(a.page, fixture.users.receptionist.email);
      await a.context.setOffline(true);
      const id = await bookViaForm(a.page, await patientName(3), `${MONDAY}T13:00:00.000Z`);
      let reached = false;
      // The request reaches the server and is applied; its answer never comes back.
      await a.context.route('**/api/appointments', async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        await route.fetch();
        reached = true;
        await new Promise(() => {});
      });
      await a.context.setOffline(false);
      await expect.poll(() => reached, { timeout: 30_000 }).toBe(true);
      expect(await localQuery(a.page, 'SELECT state FROM outbox WHERE id = $1', [id])).toEqual([{ state: 'sending' }]);
      expect(await serverCount(id)).toBe(1);
      await a.context.close();

      a = await openBrowser(profile);
      // The browser restart may have dropped the session cookie: log in (same user, same data).
      await login(a.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
      await expect
        .poll(
          () =>
            localQuery(a.page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay').catch(() => [
              'not ready',
            ]),
          { timeout: 60_000 },
        )
        .toEqual([]);
      expect(await serverCount(id)).toBe(1);
      const { rows } = await srv.db.pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [id]);
      expect(rows[0].n).toBe(1);
    } finally {
      await a.context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    }
  });

  it('session expired while offline: the write is kept, the sender pauses, and it goes after login', async () => {
    const a = await openBrowser();
    try {
      await ready(a.page, fixture.users.receptionist.email);
      await a.context.setOffline(true);
      await srv.db.pool.query('DELETE FROM sessions WHERE user_id = $1', [fixture.users.receptionist.id]);
      const id = await bookViaForm(a.page, await patientName(4), `${MONDAY}T14:00:00.000Z`);
      await a.context.setOffline(false);
      await expect
        .poll(
          () =>
            localQuery<{ status: string | null }>(
              a.page,
              `SELECT last_error->>'status' AS status FROM outbox WHERE id = $1`,
              [id],
            ),
          { timeout: 60_000 },
        )
        .toEqual([{ status: '401' }]);
      expect(await localQuery(a.page, 'SELECT state FROM outbox WHERE id = $1', [id])).toEqual([{ state: 'pending' }]);
      expect(await serverCount(id)).toBe(0);
      await login(a.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
      await expect.poll(() => serverCount(id), { timeout: 60_000 }).toBe(1);
      await expect.poll(() => localQuery(a.page, 'SELECT 1 FROM outbox'), { timeout: 60_000 }).toEqual([]);
    } finally {
      await a.close();
    }
  });

  it('check-in offline by the receptionist and start by the clinician on another device end in_progress everywhere', async () => {
    const desk = await openBrowser();
    const room = await openBrowser();
    try {
      const { id } = await appointmentOfNow(fixture.doctorA, 1);
      await ready(desk.page, fixture.users.receptionist.email);
      await ready(room.page, fixture.users.clinicianA.email);
      for (const b of [desk, room])
        await expect
          .poll(() => localQuery(b.page, 'SELECT 1 FROM appointments WHERE id = $1', [id]), { timeout: 30_000 })
          .toHaveLength(1);

      await desk.context.setOffline(true);
      await desk.page.goto(`${srv.url}/appointments/${id}`);
      await desk.page.getByRole('button', { name: 'Check in' }).click();
      await expect
        .poll(() => localQuery(desk.page, `SELECT kind, state FROM outbox`), { timeout: 30_000 })
        .toEqual([{ kind: 'status', state: 'pending' }]);
      await expect
        .poll(() => desk.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 30_000 })
        .toContain('pending');
      await desk.context.setOffline(false);

      await room.page.goto(`${srv.url}/appointments/${id}`);
      const start = room.page.getByRole('button', { name: 'Start' });
      await start.waitFor({ timeout: 60_000 });
      await room.context.setOffline(true);
      await start.click();
      await expect
        .poll(() => room.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 30_000 })
        .toContain('pending');
      await room.context.setOffline(false);

      await expect
        .poll(
          async () => (await srv.db.pool.query('SELECT status FROM appointments WHERE id = $1', [id])).rows[0].status,
          { timeout: 60_000 },
        )
        .toBe('in_progress');
      for (const b of [desk, room]) {
        await expect
          .poll(() => localQuery(b.page, 'SELECT status, pending FROM appointments WHERE id = $1', [id]), {
            timeout: 60_000,
          })
          .toEqual([{ status: 'in_progress', pending: false }]);
      }
    } finally {
      await desk.close();
      await room.close();
    }
  });
  it('one tap on the schedule grid offline: checked in and pending at once, then confirmed on the grid and the list', async () => {
    const desk = await openBrowser();
    try {
      const { id, day } = await appointmentOfNow(fixture.doctorB, 2);
      await ready(desk.page, fixture.users.receptionist.email);
      await desk.page.goto(`${srv.url}/schedule?date=${day}`);
      const block = desk.page.locator(`[data-testid=grid-appointment][data-id="${id}"]`);
      await block.waitFor({ timeout: 30_000 });
      expect(await block.getAttribute('data-write-state')).toBe('');

      await desk.context.setOffline(true);
      await block.getByTestId('quick-status').click();
      await expect.poll(() => block.getAttribute('data-status'), { timeout: 10_000 }).toBe('checked_in');
      expect(await block.getAttribute('data-write-state')).toBe('pending');
      // The next step is offered at once, on the local row.
      expect(await block.getByTestId('quick-status').getAttribute('data-to')).toBe('in_progress');

      await desk.context.setOffline(false);
      await expect.poll(() => block.getAttribute('data-write-state'), { timeout: 60_000 }).toBe('confirmed');
      const onServer = await srv.db.pool.query('SELECT status, version FROM appointments WHERE id = $1', [id]);
      expect(onServer.rows[0]).toEqual({ status: 'checked_in', version: 2 });

      // The list says the same, with the pill users read.
      await desk.page.goto(`${srv.url}/appointments`);
      await desk.page.getByLabel('From').fill(day);
      await desk.page.getByLabel('To', { exact: true }).fill(day);
      const listed = desk.page.locator(`[data-testid=appointments-table] tr[data-id="${id}"]`);
      await expect
        .poll(() => listed.locator('[data-write-state]').getAttribute('data-write-state'), { timeout: 30_000 })
        .toBe('confirmed');
    } finally {
      await desk.close();
    }
  });
});
