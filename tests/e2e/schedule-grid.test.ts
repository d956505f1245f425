// The schedule grid as the booking surface, in Chromium against the real server, on a tablet
// (1024×768) and a phone (390×844): book from free time (offline, pending → saved), drag an
// appointment to another doctor and time, a move the server refuses goes back and offers the
// server's suggestions in place, the keyboard way to move, the shortcuts, and the phone layout.
// One server and one browser for the whole file; the tests build on each other's day.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { addDays, clinicDate } from '../../src/lib/shared/time.js';
import { TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import type { ApiClient } from '../setup/server.js';
import {
  login,
  openBrowser,
  SHOTS_DIR,
  useFixtureServer,
  waitForFirstSync,
  type Browser,
  type E2EServer,
} from './helpers.js';

const DAY = '2030-01-07'; // a Monday: both doctors work 08:00–17:00 (UTC)
const DOCS_IMAGES = path.resolve('docs/images');
let srv: E2EServer;
let fixture: Fixture;
let api: ApiClient;
let b: Browser;
const ids: Record<string, string> = {};

useFixtureServer(8, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

async function bookOnServer(doctor: string, time: string, patient: number, minutes = 30): Promise<string> {
  const id = crypto.randomUUID();
  const res = await api.post('/api/appointments', {
    id,
    patient_id: fixture.patients[patient],
    doctor_id: doctor,
    starts_at: `${DAY}T${time}:00.000Z`,
    duration_minutes: minutes,
    reason: `Check-up ${patient + 1}`,
  });
  expect(res.status).toBe(201);
  return id;
}

async function serverRow(where: string, params: unknown[]) {
  const { rows } = await srv.db.pool.query<{ id: string; doctor_id: string; starts_at: Date; status: string }>(
    `SELECT id, doctor_id, starts_at, status FROM appointments WHERE ${where}`,
    params,
  );
  return rows;
}

const block = (page: Page, id: string) => page.locator(`[data-testid=grid-appointment][data-id="${id}"]`);
const blockOf = (page: Page, patient: number) =>
  page.locator('[data-testid=grid-appointment]').filter({ hasText: `Patient ${patient + 1}` });

/**
 * Scrolls the grid so `topMinute` is near its top, and answers where a minute of a doctor's
 * column is on the screen (the grid publishes its scale as data attributes).
 */
async function gridPoints(page: Page, topMinute: number) {
  await page.evaluate((m) => {
    const grid = document.querySelector<HTMLElement>('[data-testid=schedule-grid]')!;
    grid.scrollIntoView({ block: 'start' });
    const { startMinute, pxPerMinute, pad } = grid.dataset;
    grid.scrollTop = Math.max(0, Number(pad) + (m - Number(startMinute)) * Number(pxPerMinute) - 30);
  }, topMinute);
  return (column: string, minute: number) =>
    page.evaluate(
      ([c, m]) => {
        const grid = document.querySelector<HTMLElement>('[data-testid=schedule-grid]')!;
        const col = document.querySelector<HTMLElement>(`[data-testid=grid-column][data-column="${c}"]`)!;
        const { startMinute, pxPerMinute, pad } = grid.dataset;
        const r = col.getBoundingClientRect();
        return {
          x: r.left + r.width / 2,
          y: r.top + Number(pad) + (Number(m) - Number(startMinute)) * Number(pxPerMinute) + 4,
        };
      },
      [column, minute] as const,
    );
}

async function drag(page: Page, from: { x: number; y: number }, to: { x: number; y: number }) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x + 4, from.y + 4, { steps: 2 });
  await page.mouse.move(to.x, to.y, { steps: 8 });
  await page.mouse.up();
}

beforeAll(async () => {
  await mkdir(DOCS_IMAGES, { recursive: true });
  api = srv.api();
  await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
  ids.p0 = await bookOnServer(fixture.doctorA, '09:00', 0);
  ids.p1 = await bookOnServer(fixture.doctorB, '09:00', 1, 15);
  ids.p2 = await bookOnServer(fixture.doctorA, '10:00', 2, 20);
  ids.p5 = await bookOnServer(fixture.doctorB, '11:30', 5, 45);
  b = await openBrowser();
  await b.page.setViewportSize({ width: 1024, height: 768 });
  await login(b.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
  await waitForFirstSync(b.page);
});
afterAll(() => b?.close());

// Each test starts on the day's schedule with nothing open (a failed test leaves no sheet behind).
beforeEach(async ({ task }) => {
  if (task.suite?.name !== 'schedule grid on a tablet') return;
  await b.context.setOffline(false);
  await b.page.goto(`${srv.url}/schedule?date=${DAY}`);
  await b.page.getByTestId('grid-appointment').first().waitFor({ timeout: 30_000 });
});
afterEach(async ({ task }) => {
  if (task.result?.state === 'fail')
    await b.page.screenshot({ path: `${SHOTS_DIR}/schedule-grid-${task.name.slice(0, 30).replace(/\W+/g, '-')}.png` });
});

describe('schedule grid on a tablet', () => {
  it('books from a tap on free time, offline: prefilled sheet, typeahead, Enter; pending, then saved', async () => {
    const { page } = b;
    await page.screenshot({ path: `${DOCS_IMAGES}/schedule.png` });
    // Working hours shaded, the legend explains the colours, short blocks stay on one line.
    expect(await page.locator('[data-testid=working-hours]').count()).toBe(2);
    await expect
      .poll(() => page.getByTestId('status-legend').textContent(), { timeout: 15_000 })
      .toContain('Scheduled');
    const short = block(page, ids.p1!);
    expect(await short.evaluate((el) => el.classList.contains('short'))).toBe(true);
    expect(await short.getByTestId('quick-status').count()).toBe(0);

    await b.context.setOffline(true);
    const at = await gridPoints(page, 9 * 60);
    const p = await at(fixture.doctorA, 11 * 60 + 5);
    await page.mouse.click(p.x, p.y);
    const sheet = page.getByTestId('quick-book');
    await sheet.waitFor();
    expect(await sheet.getByLabel('Doctor').inputValue()).toBe(fixture.doctorA);
    expect(await sheet.getByLabel('Day').inputValue()).toBe(DAY);
    expect(await sheet.getByLabel('Time').inputValue()).toBe('11:00');
    expect(await sheet.getByLabel('Minutes').inputValue()).toBe('30');
    // The patient field has the focus: type, pick with Enter, then Enter books.
    await page.keyboard.type('Patient 4', { delay: 20 });
    await expect
      .poll(() => sheet.getByRole('listbox').getByRole('option').first().textContent(), { timeout: 15_000 })
      .toContain('Patient 4');
    await page.screenshot({ path: `${DOCS_IMAGES}/quick-book.png` });
    await page.keyboard.press('Enter');
    expect(await sheet.getByRole('combobox', { name: 'Patient' }).inputValue()).toBe('Patient 4');
    await sheet.getByLabel('Reason').fill('Blood pressure review');
    await page.keyboard.press('Enter');
    await sheet.waitFor({ state: 'detached' });

    const booked = blockOf(page, 3);
    await expect.poll(() => booked.getAttribute('data-write-state'), { timeout: 10_000 }).toBe('pending');
    expect(await booked.textContent()).toContain('11:00');
    await b.context.setOffline(false);
    await expect.poll(() => booked.getAttribute('data-write-state'), { timeout: 60_000 }).toBe('confirmed');
    const rows = await serverRow('patient_id = $1', [fixture.patients[3]]);
    expect(rows.map((r) => [r.doctor_id, r.starts_at.toISOString(), r.status])).toEqual([
      [fixture.doctorA, `${DAY}T11:00:00.000Z`, 'scheduled'],
    ]);
  });

  it('moves an appointment to another doctor and time by dragging it; pending in its new place, then saved', async () => {
    const { page } = b;
    const at = await gridPoints(page, 9 * 60);
    await drag(page, await at(fixture.doctorA, 9 * 60 + 10), await at(fixture.doctorB, 13 * 60 + 10));
    const moved = page.locator(
      `[data-testid=grid-column][data-column="${fixture.doctorB}"] [data-testid=grid-appointment]`,
      { hasText: 'Patient 1' },
    );
    await expect.poll(() => moved.getAttribute('data-write-state'), { timeout: 10_000 }).not.toBeNull();
    expect(await moved.textContent()).toContain('13:00');
    expect(await block(page, ids.p0!).count()).toBe(0); // the old one is now "rescheduled": hidden
    await expect.poll(() => moved.getAttribute('data-write-state'), { timeout: 60_000 }).toBe('confirmed');
    const rows = await serverRow(`patient_id = $1 AND status = 'scheduled'`, [fixture.patients[0]]);
    expect(rows.map((r) => [r.doctor_id, r.starts_at.toISOString()])).toEqual([
      [fixture.doctorB, `${DAY}T13:00:00.000Z`],
    ]);
  });

  it('puts a move the server refuses back, and offers its suggested times in place', async () => {
    const { page } = b;
    await b.context.setOffline(true);
    const at = await gridPoints(page, 9 * 60);
    // Patient 3 (10:00–10:20, doctor A) to 14:00; meanwhile another desk books 14:00 on the server.
    await drag(page, await at(fixture.doctorA, 10 * 60 + 5), await at(fixture.doctorA, 14 * 60 + 5));
    const moved = blockOf(page, 2);
    await expect.poll(() => moved.getAttribute('data-write-state'), { timeout: 10_000 }).toBe('pending');
    expect(await moved.textContent()).toContain('14:00');
    await bookOnServer(fixture.doctorA, '14:00', 6);
    await b.context.setOffline(false);

    const refused = page.getByTestId('move-refused');
    await refused.waitFor({ timeout: 60_000 });
    expect(await refused.textContent()).toContain('no longer free at 14:00');
    // Back in its old place, with nothing pending.
    await expect.poll(() => block(page, ids.p2!).getAttribute('data-write-state'), { timeout: 10_000 }).toBe('');
    expect(await block(page, ids.p2!).textContent()).toContain('10:00');
    const offers = page.getByTestId('grid-offer');
    await expect.poll(() => offers.count(), { timeout: 15_000 }).toBeGreaterThan(0);
    const label = (await offers.first().textContent())!.trim(); // "Take HH:MM"
    await page.screenshot({ path: `${DOCS_IMAGES}/move-refused.png` });
    await offers.first().click();
    const time = label.replace('Take ', '');
    const retaken = blockOf(page, 2).filter({ hasText: time });
    await expect.poll(() => retaken.getAttribute('data-write-state'), { timeout: 60_000 }).toBe('confirmed');
    const rows = await serverRow(`patient_id = $1 AND status = 'scheduled'`, [fixture.patients[2]]);
    expect(rows.map((r) => r.starts_at.toISOString())).toEqual([`${DAY}T${time}:00.000Z`]);
  });

  it('moves with the keyboard, and answers the shortcuts (? n / t ← → Esc)', async () => {
    const { page } = b;
    // Keyboard move: focus the 15-minute block, `m`, two steps down, Enter.
    await block(page, ids.p1!).locator('a').focus();
    await page.keyboard.press('m');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.getByTestId('move-ghost').textContent()).toContain('09:30');
    await page.keyboard.press('Enter');
    const moved = blockOf(page, 1);
    await expect.poll(() => moved.textContent(), { timeout: 10_000 }).toContain('09:30');
    await expect.poll(() => moved.getAttribute('data-write-state'), { timeout: 60_000 }).toBe('confirmed');

    await page.locator('h1').click(); // focus out of any field
    await page.keyboard.press('?');
    await page.getByTestId('shortcut-help').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('shortcut-help').waitFor({ state: 'detached' });
    await page.keyboard.press('n');
    await page.getByTestId('quick-book').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('quick-book').waitFor({ state: 'detached' });
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe(
      'schedule-patient-search',
    );
    await page.keyboard.press('Escape');
    await page.keyboard.press('ArrowRight');
    await page.waitForURL((u) => u.searchParams.get('date') === addDays(DAY, 1));
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL((u) => u.searchParams.get('date') === DAY);
    await page.keyboard.press('t');
    await page.waitForURL((u) => u.searchParams.get('date') === clinicDate(Date.now(), 'UTC'));
  });
});

describe('schedule on a phone', () => {
  it('has a one-line header with a menu, and one doctor at a time with a switcher', async () => {
    const { page } = b;
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${srv.url}/schedule?date=${DAY}`);
    await page.getByTestId('doctor-switcher').waitFor({ timeout: 30_000 });
    const header = await page.locator('header').boundingBox();
    expect(header!.height).toBeLessThan(60);
    expect(await page.getByRole('link', { name: 'Appointments' }).count()).toBe(0); // folded into the menu
    expect(await page.getByTestId('grid-column').count()).toBe(1);
    const first = await page.getByTestId('grid-column').getAttribute('data-column');
    await expect.poll(() => page.getByTestId('grid-appointment').count(), { timeout: 15_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: `${DOCS_IMAGES}/schedule-phone.png` });

    await page.getByRole('button', { name: 'Next doctor' }).click();
    await expect
      .poll(() => page.getByTestId('grid-column').getAttribute('data-column'), { timeout: 15_000 })
      .not.toBe(first);
    await page.getByRole('button', { name: 'Menu' }).click();
    await page.getByRole('link', { name: 'Appointments' }).click();
    await page.waitForURL(/\/appointments/);
    expect(await page.locator('#main-menu').isVisible()).toBe(false); // the menu closed
    await page.setViewportSize({ width: 1024, height: 768 });
  });
});
