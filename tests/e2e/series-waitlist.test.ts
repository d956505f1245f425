// Series and waitlist in headless Chromium against the real server and sync service: a
// weekly series booked offline through the booking form's "Repeat" option is one outbox
// entry, shown at once, applied once when the network is back; a slot cancelled at the desk
// is offered on the Waitlist screen and one tap books it.
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

const MONDAY = '2030-02-04';
let srv: E2EServer;
let fixture: Fixture;

useFixtureServer(6, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

async function ready(page: Page): Promise<void> {
  await login(page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
  await waitForFirstSync(page);
}

const patientName = async (index: number) =>
  (await srv.db.pool.query('SELECT full_name FROM patients WHERE id = $1', [fixture.patients[index]])).rows[0]
    .full_name as string;

describe('series and waitlist in the browser', () => {
  it('a weekly series booked offline with "Repeat" is one entry, applied once online', async () => {
    const a = await openBrowser();
    try {
      await ready(a.page);
      await a.context.setOffline(true);
      await a.page.goto(`${srv.url}/appointments/new?date=${MONDAY}&doctor=${fixture.doctorA}`);
      const name = await patientName(0);
      await a.page.getByPlaceholder('name, MRN or phone').fill(name);
      await a.page.getByRole('radio', { name }).check();
      await a.page.getByTestId('repeat').getByRole('checkbox', { name: 'Repeat' }).check();
      await a.page.getByLabel('number of appointments').fill('3');
      await a.page.locator(`[data-testid=free-slots] button[data-start="${MONDAY}T10:00:00.000Z"]`).click();
      await a.page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
      await expect
        .poll(() => a.page.getByTestId('series-actions').textContent(), { timeout: 30_000 })
        .toContain('1 of 3');
      const queued = await localQuery<{ kind: string }>(a.page, 'SELECT kind FROM outbox');
      expect(queued).toEqual([{ kind: 'series_book' }]);
      await a.page.screenshot({ path: `${SHOTS_DIR}/series-offline.png`, fullPage: true });

      await a.context.setOffline(false);
      await expect
        .poll(
          async () =>
            (await srv.db.pool.query('SELECT count(*)::int AS n FROM appointments WHERE series_id IS NOT NULL')).rows[0]
              .n,
          { timeout: 60_000 },
        )
        .toBe(3);
      await expect
        .poll(() => localQuery(a.page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay'), {
          timeout: 60_000,
        })
        .toEqual([]);
    } finally {
      await a.close();
    }
  });

  it('a cancelled slot is offered on the Waitlist screen and one tap books it', async () => {
    const api = srv.api();
    await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
    const entryId = crypto.randomUUID();
    expect(
      (
        await api.post('/api/waitlist', {
          id: entryId,
          patient_id: fixture.patients[1],
          doctor_id: fixture.doctorA,
          earliest_date: '2030-03-04',
          latest_date: '2030-03-08',
          urgency: 'urgent',
          duration_minutes: 30,
        })
      ).status,
    ).toBe(201);
    const a = await openBrowser();
    try {
      await ready(a.page);
      await a.page.goto(`${srv.url}/waitlist`);
      await expect.poll(() => a.page.getByTestId('waitlist-entry').count(), { timeout: 30_000 }).toBe(1);
      const booked = crypto.randomUUID();
      expect(
        (
          await api.post('/api/appointments', {
            id: booked,
            patient_id: fixture.patients[2],
            doctor_id: fixture.doctorA,
            starts_at: '2030-03-05T09:00:00.000Z',
            duration_minutes: 30,
          })
        ).status,
      ).toBe(201);
      expect((await api.post(`/api/appointments/${booked}/cancel`, { reason: 'ill' })).status).toBe(200);
      const offer = a.page.locator('[data-testid=waitlist-offer][data-start="2030-03-05T09:00:00.000Z"]');
      await offer.waitFor({ timeout: 30_000 });
      await a.page.screenshot({ path: `${SHOTS_DIR}/waitlist-offer.png`, fullPage: true });
      await offer.click();
      await a.page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
      const { rows } = await srv.db.pool.query(
        `SELECT status, booked_appointment_id FROM waitlist_entries WHERE id = $1`,
        [entryId],
      );
      expect(rows[0].status).toBe('booked');
      const made = await srv.db.pool.query('SELECT patient_id, starts_at FROM appointments WHERE id = $1', [
        rows[0].booked_appointment_id,
      ]);
      expect(made.rows[0].patient_id).toBe(fixture.patients[1]);
    } finally {
      await a.close();
    }
  });
});
