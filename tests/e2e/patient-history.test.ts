// A patient's earlier visits (before the synced appointment window) in headless Chromium
// against the real server: a clinician opening the patient page online gets their doctor's
// old visits from the server (a subset snapshot), never another doctor's; offline after a
// reload they are still there with the time they were loaded; a patient never opened online
// says it needs a connection; logout deletes them with the rest of the local data.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appointmentWindowStart } from '../../src/lib/shared/appointment-window.js';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import {
  localQuery,
  login,
  openBrowser,
  SHOTS_DIR,
  startE2EServer,
  waitForFirstSync,
  type E2EServer,
} from './helpers.js';

const DAY = 86_400_000;
let srv: E2EServer;
let fixture: Fixture;
/** Patient 0's old visits: two with doctor A (clinician A's), one with doctor B. */
const visits = { a1: randomUUID(), a2: randomUUID(), b1: randomUUID(), p1: randomUUID() };

beforeAll(async () => {
  await mkdir(SHOTS_DIR, { recursive: true });
  srv = await startE2EServer({
    seed: 'none',
    prepare: async (db) => {
      fixture = await createFixture(db.pool, { patients: 3 });
      const before = Date.parse(appointmentWindowStart(new Date(), 'UTC'));
      const insert = (id: string, patient: string, doctor: string, daysBefore: number, reason: string, notes: string) =>
        db.pool.query(
          `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, reason, clinical_notes)
           VALUES ($1, $2, $3, $4, $4::timestamptz + interval '30 minutes', 30, 'completed', $5, $6)`,
          [id, patient, doctor, new Date(before - daysBefore * DAY + 9 * 3_600_000).toISOString(), reason, notes],
        );
      const [p0, p1] = fixture.patients as [string, string];
      await insert(visits.a1, p0, fixture.doctorA, 20, 'Old knee check', 'Knee fine, review in a year');
      await insert(visits.a2, p0, fixture.doctorA, 300, 'First visit', 'History taken');
      await insert(visits.b1, p0, fixture.doctorB, 40, 'Other doctor visit', 'Not for doctor A');
      await insert(visits.p1, p1, fixture.doctorA, 10, 'Patient one old visit', 'Never loaded');
    },
  });
});
afterAll(() => srv?.stop());

const rowsShown = (page: Page) =>
  page.getByTestId('earlier-visit').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));

describe('earlier visits on the patient page', () => {
  it('online load shows the old visits of the clinician’s doctor only; offline after a reload they stay', async () => {
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, fixture.users.clinicianA.email, TEST_PASSWORD);
      await waitForFirstSync(b.page);
      // The window's tables hold none of them.
      expect(await localQuery(b.page, 'SELECT id FROM appointments_synced')).toEqual([]);

      await b.page.goto(`${srv.url}/patients/${fixture.patients[0]}`);
      await expect.poll(() => b.page.locator('h1').textContent(), { timeout: 30_000 }).toBe('Patient 1');
      await expect.poll(() => rowsShown(b.page), { timeout: 30_000 }).toEqual([visits.a1, visits.a2]);
      const section = b.page.getByTestId('earlier-visits');
      expect(await section.textContent()).toContain('Knee fine, review in a year');
      expect(await section.textContent()).not.toContain('Other doctor visit');
      expect(await b.page.getByTestId('earlier-visits-state').textContent()).toContain('loaded');
      // Stored apart from the synced appointments, and nothing of doctor B's.
      const stored = await localQuery<{ id: string; doctor_id: string }>(
        b.page,
        'SELECT id, doctor_id FROM local_history_appointments ORDER BY starts_at DESC',
      );
      expect(stored).toEqual([
        { id: visits.a1, doctor_id: fixture.doctorA },
        { id: visits.a2, doctor_id: fixture.doctorA },
      ]);
      expect(await localQuery(b.page, 'SELECT id FROM appointments WHERE id = $1', [visits.a1])).toEqual([]);
      await b.page.screenshot({ path: `${SHOTS_DIR}/patient-earlier-visits.png`, fullPage: true });

      await b.context.setOffline(true);
      await b.page.reload();
      await expect.poll(() => b.page.locator('h1').textContent(), { timeout: 30_000 }).toBe('Patient 1');
      await expect.poll(() => rowsShown(b.page), { timeout: 30_000 }).toEqual([visits.a1, visits.a2]);
      // The browser may still say online (a page from the service worker): the failed
      // refresh tells the section, after the client's few quick retries.
      await expect
        .poll(() => b.page.getByTestId('earlier-visits-state').textContent(), { timeout: 30_000 })
        .toMatch(/loaded .*offline: as loaded then/);
      expect(await b.page.getByTestId('earlier-visits-error').count()).toBe(0);

      // A patient whose history was never loaded: it needs a connection.
      await b.page.goto(`${srv.url}/patients/${fixture.patients[1]}`);
      await expect.poll(() => b.page.locator('h1').textContent(), { timeout: 30_000 }).toBe('Patient 2');
      await expect
        .poll(() => b.page.getByTestId('earlier-visits-state').textContent(), { timeout: 30_000 })
        .toContain('Earlier visits need a connection');
      expect(await rowsShown(b.page)).toEqual([]);
      await b.page.screenshot({ path: `${SHOTS_DIR}/patient-earlier-visits-offline.png`, fullPage: true });

      // Back online, the page loads it by itself (once sync reaches the server again).
      await b.context.setOffline(false);
      await expect.poll(() => rowsShown(b.page), { timeout: 30_000 }).toEqual([visits.p1]);

      // Logout deletes the stored history with the rest of the local database.
      await b.page.locator('summary', { hasText: 'clinician.a' }).click();
      await b.page.getByRole('button', { name: 'Log out' }).click();
      await b.page.waitForURL(/\/login/);
      await login(b.page, srv.url, fixture.users.clinicianA.email, TEST_PASSWORD);
      await waitForFirstSync(b.page);
      expect(await localQuery(b.page, 'SELECT id FROM local_history_appointments')).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('a receptionist gets the old visits of every doctor, without clinical notes', async () => {
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
      await waitForFirstSync(b.page);
      await b.page.goto(`${srv.url}/patients/${fixture.patients[0]}`);
      await expect.poll(() => rowsShown(b.page), { timeout: 30_000 }).toEqual([visits.a1, visits.b1, visits.a2]);
      const section = await b.page.getByTestId('earlier-visits').textContent();
      expect(section).toContain('Other doctor visit');
      expect(section).not.toContain('Knee fine');
      expect(section).not.toContain('Clinical notes');
      expect(
        await localQuery(b.page, 'SELECT id FROM local_history_appointments WHERE clinical_notes IS NOT NULL'),
      ).toEqual([]);
    } finally {
      await b.close();
    }
  });
});
