// Patients offline in headless Chromium against the real server and sync service: a
// receptionist with no network creates a patient through the form (field errors first), the
// write survives a reload at once, the new patient is bookable and editable offline, and
// once online the server has the patient (with the edit) and the booking exactly once and
// the replica holds the server's row. An MRN another device took meanwhile is rejected with
// the server's error. Clinicians get no patient forms.
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
let srv: E2EServer;
let fixture: Fixture;

useFixtureServer(4, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

/** Fills the patient form (new or edit) and saves it. */
async function fillPatientForm(page: Page, fields: Record<string, string>, save: string): Promise<void> {
  const form = page.getByTestId('patient-form');
  for (const [name, value] of Object.entries(fields)) await form.locator(`input[name=${name}]`).fill(value);
  await form.getByRole('button', { name: save }).click();
}

/** Creates a patient through the "New patient" page reached from the patients list; returns its id. */
async function createViaForm(page: Page, fields: Record<string, string>): Promise<string> {
  await page.goto(`${srv.url}/patients`);
  await page.getByRole('link', { name: 'New patient' }).click();
  await page.waitForURL(/\/patients\/new$/);
  await fillPatientForm(page, fields, 'Save patient');
  await page.waitForURL(/\/patients\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

const serverCount = async (sql: string, params: unknown[]) =>
  (await srv.db.pool.query(`SELECT count(*)::int AS n FROM ${sql}`, params)).rows[0].n as number;

describe('patients offline', () => {
  it('create (reload at once) -> book -> edit phone, all offline -> online: once each on the server, replica synced', async () => {
    const a = await openBrowser();
    try {
      await login(a.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
      await waitForFirstSync(a.page);
      await a.context.setOffline(true);

      // Bad input first: the form names the fields, nothing is queued.
      await a.page.goto(`${srv.url}/patients/new`);
      await fillPatientForm(a.page, { full_name: ' ', date_of_birth: '', email: 'not-an-email' }, 'Save patient');
      await expect.poll(() => a.page.locator('[data-field=full_name]').textContent()).toBe('Required.');
      expect(await a.page.locator('[data-field=email]').textContent()).toBeTruthy();
      expect(await a.page.locator('[data-field=date_of_birth]').textContent()).toBeTruthy();
      expect(await localQuery(a.page, 'SELECT 1 FROM outbox')).toEqual([]);
      await a.page.screenshot({ path: `${SHOTS_DIR}/offline-patient-form-errors.png`, fullPage: true });

      const id = await createViaForm(a.page, {
        full_name: 'Nora Offline',
        date_of_birth: '1991-05-06',
        phone: '555-0400',
      });
      // Reload at once: the write must already be durable, and the page shows it pending.
      await a.page.reload();
      await expect.poll(() => a.page.locator('h1').textContent(), { timeout: 30_000 }).toBe('Nora Offline');
      // The badge reads the outbox after the reloaded page's database opens: as long a wait as the heading's.
      await expect
        .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 30_000 })
        .toContain('pending');
      // Queued, not sent: the offline sender may be mid-attempt ("sending" until the fetch fails).
      const queued = await localQuery<{ state: string }>(a.page, 'SELECT state FROM outbox WHERE id = $1', [id]);
      expect(queued).toHaveLength(1);
      expect(['pending', 'sending']).toContain(queued[0]!.state);

      // The new patient is bookable offline through the booking form's search.
      await a.page.goto(`${srv.url}/appointments/new?date=${MONDAY}&doctor=${fixture.doctorA}`);
      await a.page.getByPlaceholder('name, MRN or phone').fill('Nora Off');
      await a.page.getByRole('radio', { name: 'Nora Offline' }).check();
      await a.page.locator(`[data-testid=free-slots] button[data-start="${MONDAY}T09:00:00.000Z"]`).click();
      await a.page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
      const booking = a.page.url().split('/').pop()!;

      // Edit the phone offline.
      await a.page.goto(`${srv.url}/patients/${id}`);
      await a.page.getByRole('button', { name: 'Edit' }).click();
      await fillPatientForm(a.page, { phone: '555-0499' }, 'Save changes');
      await expect.poll(() => a.page.locator('dl').textContent(), { timeout: 30_000 }).toContain('555-0499');

      await a.page.goto(`${srv.url}/outbox`);
      const entries = a.page.getByTestId('outbox-entry');
      await expect.poll(() => entries.count(), { timeout: 30_000 }).toBe(3);
      expect(await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')))).toEqual([
        'patient_create',
        'book',
        'patient_update',
      ]);
      expect(await entries.first().textContent()).toContain('New patient');
      expect(await entries.first().textContent()).toContain('Nora Offline');
      await a.page.screenshot({ path: `${SHOTS_DIR}/offline-patient-outbox.png`, fullPage: true });
      expect(await serverCount('patients WHERE id = $1', [id])).toBe(0);

      await a.context.setOffline(false);
      await expect
        .poll(() => localQuery(a.page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM patients_overlay'), {
          timeout: 60_000,
        })
        .toEqual([]);
      const server = await srv.db.pool.query('SELECT full_name, phone, mrn FROM patients WHERE id = $1', [id]);
      expect(server.rows).toEqual([{ full_name: 'Nora Offline', phone: '555-0499', mrn: expect.any(String) }]);
      expect(await serverCount(`patients WHERE full_name = 'Nora Offline'`, [])).toBe(1);
      expect(await serverCount('appointments WHERE patient_id = $1', [id])).toBe(1);
      expect(await serverCount('appointments WHERE id = $1', [booking])).toBe(1);
      // The replica now shows the server's row (with its MRN), no local copy.
      expect(await localQuery(a.page, 'SELECT phone, mrn, pending FROM patients WHERE id = $1', [id])).toEqual([
        { phone: '555-0499', mrn: server.rows[0].mrn, pending: false },
      ]);
      await a.page.goto(`${srv.url}/patients/${id}`);
      await expect.poll(() => a.page.locator('dl').textContent(), { timeout: 30_000 }).toContain(server.rows[0].mrn);
    } finally {
      await a.close();
    }
  });

  it('an MRN taken on the server meanwhile: rejected with the server error, shown in the outbox; discard', async () => {
    const a = await openBrowser();
    try {
      await login(a.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
      await waitForFirstSync(a.page);
      await a.context.setOffline(true);
      const id = await createViaForm(a.page, { full_name: 'Mina Dup', date_of_birth: '1979-09-09', mrn: 'DUP-0001' });
      // Another device registers the same MRN first.
      await srv.db.pool.query(
        `INSERT INTO patients (full_name, date_of_birth, mrn) VALUES ('Someone Else', '1960-01-01', 'DUP-0001')`,
      );
      await a.context.setOffline(false);
      await expect
        .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
        .toContain('rejected');
      expect(await a.page.getByTestId('write-state').textContent()).toContain('MRN');
      await a.page.getByRole('link', { name: 'resolve' }).click();
      const rejected = a.page.locator('[data-testid=outbox-entry][data-state=rejected]');
      await expect.poll(() => rejected.count()).toBe(1);
      // The server's reason in words; its code stays on the element for tools.
      expect(await rejected.locator('[data-code=mrn_taken]').count()).toBe(1);
      expect(await rejected.textContent()).toContain('Another patient already has this MRN.');
      expect(await rejected.textContent()).toContain('Mina Dup');
      expect(await serverCount('patients WHERE id = $1', [id])).toBe(0);
      await rejected.getByRole('button', { name: 'Discard' }).click();
      await expect.poll(() => a.page.getByTestId('outbox-empty').count()).toBe(1);
      expect(await localQuery(a.page, 'SELECT 1 FROM patients WHERE id = $1', [id])).toEqual([]);
    } finally {
      await a.close();
    }
  });

  it('a clinician gets no patient forms', async () => {
    const a = await openBrowser();
    try {
      await login(a.page, srv.url, fixture.users.clinicianA.email, TEST_PASSWORD);
      await waitForFirstSync(a.page);
      await a.page.goto(`${srv.url}/patients`);
      // The list is rendered (the local database is open) before the missing link counts.
      await a.page.getByTestId('patients-table').waitFor({ timeout: 30_000 });
      expect(await a.page.getByRole('link', { name: 'New patient' }).count()).toBe(0);
      await a.page.goto(`${srv.url}/patients/new`);
      await expect
        .poll(() => a.page.locator('main').textContent(), { timeout: 30_000 })
        .toContain('Only reception and admin staff');
      expect(await a.page.getByTestId('patient-form').count()).toBe(0);
    } finally {
      await a.close();
    }
  });
});
