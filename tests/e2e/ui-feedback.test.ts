// Feedback where the eye is, in headless Chromium against the real server and sync service:
// free-slot lists are live across two devices; a booking the server refused is shown as not
// booked, with its reason in words and one-tap suggested times; the reschedule picker opens
// on the appointment's day with its own slot free and opens the new appointment (old <-> new
// links); patient search ignores accents and word order and a patient page sets reminder
// channels and books; the header keeps "last synced" across an offline reload.
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import {
  localQuery,
  login,
  openBrowser,
  SHOTS_DIR,
  useFixtureServer,
  waitForFirstSync,
  type Browser,
  type E2EServer,
} from './helpers.js';

const MONDAY = '2030-01-07';
const at = (time: string) => `${MONDAY}T${time}:00.000Z`;
let srv: E2EServer;
let fixture: Fixture;
let a: Browser; // reception desk
let b: Browser; // a second device (admin)

useFixtureServer(8, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

beforeAll(async () => {
  a = await openBrowser();
  b = await openBrowser();
  await login(a.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
  await login(b.page, srv.url, fixture.users.admin.email, TEST_PASSWORD);
  await waitForFirstSync(a.page);
  await waitForFirstSync(b.page);
});
afterAll(async () => {
  await a?.close();
  await b?.close();
});

async function patientName(index: number): Promise<string> {
  const { rows } = await srv.db.pool.query('SELECT full_name FROM patients WHERE id = $1', [fixture.patients[index]]);
  return rows[0].full_name;
}

const slotButton = (page: Page, startsAt: string) =>
  page.locator(`[data-testid=free-slots] button[data-start="${startsAt}"]`);

async function openBookingForm(page: Page): Promise<void> {
  await page.goto(`${srv.url}/appointments/new?date=${MONDAY}&doctor=${fixture.doctorA}`);
  await page.locator('[data-testid=free-slots] button').first().waitFor({ timeout: 30_000 });
}

/** Picks the patient by name (the list may briefly show an earlier keystroke's results). */
async function choosePatient(page: Page, name: string): Promise<void> {
  await page.getByPlaceholder('name, MRN or phone').fill(name);
  await page.getByRole('radio', { name }).check();
}

/** Books the slot at `startsAt` for patient `index` through the form; returns the new id. */
async function bookViaForm(page: Page, index: number, startsAt: string): Promise<string> {
  await openBookingForm(page);
  await choosePatient(page, await patientName(index));
  await slotButton(page, startsAt).click();
  await page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

async function bookOnServer(patient: number, startsAt: string): Promise<string> {
  const id = crypto.randomUUID();
  const api = srv.api();
  await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
  const made = await api.request('POST', '/api/appointments', {
    id,
    patient_id: fixture.patients[patient],
    doctor_id: fixture.doctorA,
    starts_at: startsAt,
    duration_minutes: 30,
  });
  expect(made.status).toBe(201);
  return id;
}

describe('feedback where the eye is', () => {
  it('a slot booked on one device disappears from the open booking form of another', async () => {
    await openBookingForm(a.page);
    await openBookingForm(b.page);
    const slot = at('09:00');
    expect(await slotButton(a.page, slot).count()).toBe(1);
    expect(await slotButton(b.page, slot).count()).toBe(1);

    await choosePatient(b.page, await patientName(0));
    await slotButton(b.page, slot).click();
    await b.page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
    // No reload, no navigation on A: the live query drops the slot when sync delivers it.
    await expect.poll(() => slotButton(a.page, slot).count(), { timeout: 30_000 }).toBe(0);
    expect(a.page.url()).toContain('/appointments/new');
    // Its neighbours are still offered.
    expect(await slotButton(a.page, at('09:30')).count()).toBe(1);
  });

  it('a refused booking shows as not booked, with the reason in words and one-tap suggestions', async () => {
    await a.context.setOffline(true);
    const refused = await bookViaForm(a.page, 1, at('11:00'));
    await bookOnServer(2, at('11:00')); // the desk across the room was faster
    await a.context.setOffline(false);

    const box = a.page.getByTestId('refused-booking');
    await box.waitFor({ timeout: 60_000 });
    expect(await box.getAttribute('data-code')).toBe('slot_conflict');
    expect(await box.textContent()).toContain('Not booked');
    expect(await box.textContent()).toContain('The doctor already has another appointment at that time.');
    expect(await box.textContent()).not.toContain('slot_conflict');
    // Nothing that pretends it is booked: no status, no Confirm / Check in.
    expect(await a.page.getByTestId('appointment-actions').count()).toBe(0);
    expect(await a.page.getByRole('button', { name: 'Confirm' }).count()).toBe(0);
    expect(await a.page.getByRole('button', { name: 'Check in' }).count()).toBe(0);
    expect(await a.page.locator('[data-status=scheduled]').count()).toBe(0);
    await a.page.screenshot({ path: `${SHOTS_DIR}/refused-booking.png`, fullPage: true });

    const suggestion = box.locator('[data-testid=suggestions] button').first();
    const startsAt = await suggestion.getAttribute('data-start');
    expect(startsAt).toBeTruthy();
    await suggestion.click();
    await a.page.waitForURL(
      (url) => /\/appointments\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(refused),
    );
    const rebooked = a.page.url().split('/').pop()!;
    await expect
      .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('confirmed');
    expect(await a.page.getByTestId('write-state').textContent()).toContain('Saved');
    const { rows } = await srv.db.pool.query('SELECT starts_at, patient_id FROM appointments WHERE id = $1', [
      rebooked,
    ]);
    expect(rows).toEqual([{ starts_at: new Date(startsAt!), patient_id: fixture.patients[1] }]);
    await expect
      .poll(() => localQuery(a.page, 'SELECT count(*)::int AS n FROM outbox'), { timeout: 30_000 })
      .toEqual([{ n: 0 }]);
  });

  it('reschedule opens on the appointment day, offers 15 minutes later, and links old <-> new', async () => {
    const id = await bookOnServer(3, at('14:00'));
    await a.page.goto(`${srv.url}/appointments/${id}`);
    await a.page.getByRole('button', { name: 'Reschedule' }).click({ timeout: 60_000 });
    const picker = a.page.getByTestId('reschedule-picker');
    expect(await picker.getByLabel('New day').inputValue()).toBe(MONDAY);
    const later = picker.locator(`button[data-start="${at('14:15')}"]`);
    await later.waitFor({ timeout: 30_000 });
    expect(await picker.locator(`button[data-start="${at('14:00')}"]`).count()).toBe(1);
    await later.click();
    await a.page.waitForURL((url) => !url.pathname.endsWith(id));
    const newId = a.page.url().split('/').pop()!;
    expect(await a.page.getByTestId('rescheduled-from').getAttribute('href')).toBe(`/appointments/${id}`);
    await expect
      .poll(() => a.page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
      .toBe('confirmed');
    const { rows } = await srv.db.pool.query('SELECT starts_at, rescheduled_from FROM appointments WHERE id = $1', [
      newId,
    ]);
    expect(rows).toEqual([{ starts_at: new Date(at('14:15')), rescheduled_from: id }]);
    await a.page.getByTestId('rescheduled-from').click();
    await a.page.getByTestId('rescheduled-to').waitFor({ timeout: 30_000 });
    expect(await a.page.getByTestId('rescheduled-to').getAttribute('href')).toBe(`/appointments/${newId}`);
  });

  it('patient search ignores accents, case and word order; the patient page books', async () => {
    const { rows } = await srv.db.pool.query<{ id: string }>(
      `INSERT INTO patients (full_name, date_of_birth, mrn, phone) VALUES ('José Yamamoto', '1975-05-05', 'ACC-0001', '+441000000002') RETURNING id`,
    );
    const jose = rows[0]!.id;
    await a.page.goto(`${srv.url}/patients`);
    const names = () =>
      a.page.locator('[data-testid=patients-table] tbody tr[data-id] td:first-child a').allTextContents();
    for (const text of ['jose yama', 'Yamamoto José', 'YAMAMOTO jose']) {
      await a.page.getByTestId('patient-search').fill(text);
      await expect.poll(names, { timeout: 30_000 }).toEqual(['José Yamamoto']);
    }
    await a.page.getByRole('link', { name: 'José Yamamoto' }).click();
    // Reminder settings come from the server: SMS on (a phone is on file), email without an
    // address. Turning SMS off is saved at once.
    const prefs = a.page.getByTestId('contact-preferences');
    await expect.poll(() => prefs.locator('input[data-channel=sms]').isChecked(), { timeout: 30_000 }).toBe(true);
    expect(await prefs.innerText()).toContain('no email address on file');
    await prefs.getByLabel('SMS reminders').uncheck();
    await expect.poll(() => prefs.getByTestId('preferences-changed').textContent()).toContain('by staff');
    const saved = await srv.db.pool.query(
      `SELECT sms_opt_out, updated_via FROM patient_contact_preferences WHERE patient_id = $1`,
      [jose],
    );
    expect(saved.rows).toEqual([{ sms_opt_out: true, updated_via: 'staff' }]);
    await a.page.getByTestId('book-for-patient').click();
    await a.page.waitForURL(/\/appointments\/new\?patient=/);
    await expect.poll(() => a.page.getByRole('radio', { name: 'José Yamamoto' }).isChecked()).toBe(true);
    expect(a.page.url()).toContain(jose);
  });

  it('the header keeps "last synced" across an offline reload', async () => {
    const badge = a.page.getByTestId('sync-badge');
    await expect.poll(() => badge.getAttribute('data-last-synced'), { timeout: 30_000 }).toBeTruthy();
    const before = Number(await badge.getAttribute('data-last-synced'));
    // The time is remembered on the device, per user database.
    const stored = await a.page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith('clinic.lastSynced:'))
        .map((k) => Number(localStorage.getItem(k))),
    );
    expect(stored).toHaveLength(1);
    expect(stored[0]).toBeGreaterThanOrEqual(before);
    await a.context.setOffline(true);
    try {
      await a.page.reload();
      await badge.waitFor({ timeout: 30_000 });
      expect(Number(await badge.getAttribute('data-last-synced'))).toBeGreaterThanOrEqual(before);
      expect(await badge.textContent()).toContain('last synced');
      expect(await badge.textContent()).not.toContain('not synced yet');
    } finally {
      await a.context.setOffline(false);
    }
  });
});
