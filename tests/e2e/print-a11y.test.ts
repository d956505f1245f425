// The day on paper and accessibility, in headless Chromium against the real server: the
// print view printed to PDF by Chromium holds every appointment of the day (patient, time,
// reason) and no navigation or buttons; axe-core finds no serious or critical violation on
// the screens used all day, and their controls are at least 44×44 px on a tablet.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';
import { getDocument } from 'pdfjs-dist/legacy/build/pdf.mjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import {
  login,
  openBrowser,
  SHOTS_DIR,
  useFixtureServer,
  waitForFirstSync,
  type Browser,
  type E2EServer,
} from './helpers.js';

const MONDAY = '2030-01-07';
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
let srv: E2EServer;
let fixture: Fixture;
let desk: Browser;

useFixtureServer(8, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

interface Booked {
  id: string;
  doctor: 'A' | 'B';
  time: string;
  patient: string;
  reason: string;
}
const booked: Booked[] = [];

beforeAll(async () => {
  const api = srv.api();
  await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
  const plan: [doctor: 'A' | 'B', time: string, reason: string][] = [
    ['A', '08:00', 'Knee pain follow-up'],
    ['A', '09:30', 'Blood pressure check'],
    ['A', '16:15', 'Vaccination'],
    ['B', '08:45', 'Annual physical'],
    ['B', '12:00', 'Rash on forearm'],
    ['B', '16:30', 'Results discussion'],
  ];
  for (const [i, [doctor, time, reason]] of plan.entries()) {
    const id = crypto.randomUUID();
    const res = await api.request('POST', '/api/appointments', {
      id,
      patient_id: fixture.patients[i],
      doctor_id: doctor === 'A' ? fixture.doctorA : fixture.doctorB,
      starts_at: `${MONDAY}T${time}:00.000Z`,
      duration_minutes: 30,
      reason,
    });
    expect(res.status).toBe(201);
    const { rows } = await srv.db.pool.query('SELECT full_name FROM patients WHERE id = $1', [fixture.patients[i]]);
    booked.push({ id, doctor, time, patient: rows[0].full_name, reason });
  }
  desk = await openBrowser();
  await desk.page.setViewportSize({ width: 1024, height: 768 }); // a tablet in landscape
  await login(desk.page, srv.url, fixture.users.receptionist.email, TEST_PASSWORD);
  await waitForFirstSync(desk.page);
});
afterAll(() => desk?.close());

/** Chromium prints the page to PDF; pdf.js reads its text back. */
async function printedText(page: Page): Promise<string> {
  const pdf = await page.pdf({ format: 'A4', printBackground: true });
  const doc = await getDocument({ data: new Uint8Array(pdf), useSystemFonts: true }).promise;
  const pages: string[] = [];
  for (let n = 1; n <= doc.numPages; n++) {
    const content = await (await doc.getPage(n)).getTextContent();
    pages.push(content.items.map((item) => ('str' in item ? item.str : '')).join(' '));
  }
  await doc.destroy();
  return pages.join('\n').replace(/\s+/g, ' ');
}

async function openSheet(page: Page, query: string, rows: number): Promise<void> {
  await page.goto(`${srv.url}/schedule/print?${query}`);
  await page.locator('[data-testid=day-sheet][data-ready=true]').waitFor({ timeout: 30_000 });
  await expect
    .poll(() => page.locator('[data-testid=day-sheet] tbody tr[data-id]').count(), { timeout: 30_000 })
    .toBe(rows);
}

describe('the day on paper', () => {
  it('prints every appointment of every doctor, with patient, time and reason, and no navigation or buttons', async () => {
    await openSheet(desk.page, `date=${MONDAY}`, booked.length);
    const text = await printedText(desk.page);
    for (const b of booked) {
      expect(text).toContain(b.patient);
      expect(text).toContain(b.time);
      expect(text).toContain(b.reason);
    }
    expect(text).toContain('Dr. Alice Able');
    expect(text).toContain('Dr. Bob Baker');
    for (const chrome of ['Log out', 'Appointments', 'Back to the schedule', 'Print', 'all saved']) {
      expect(text).not.toContain(chrome);
    }
  });

  it("prints one doctor's day", async () => {
    const own = booked.filter((b) => b.doctor === 'A');
    await openSheet(desk.page, `date=${MONDAY}&doctors=${fixture.doctorA}`, own.length);
    const text = await printedText(desk.page);
    for (const b of own) expect(text).toContain(b.patient);
    for (const b of booked.filter((x) => x.doctor === 'B')) expect(text).not.toContain(b.reason);
    expect(text).not.toContain('Dr. Bob Baker');
  });
});

/** Serious and critical axe violations on the page as it is now. */
async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            opts: object,
          ) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      nodes: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 5).join(', ')}`);
}

/** Buttons, links styled as buttons, inputs and selects smaller than 44×44 px. */
async function smallTargets(page: Page, scope: string): Promise<string[]> {
  return page.evaluate((selector) => {
    const out: string[] = [];
    for (const root of document.querySelectorAll(selector)) {
      for (const el of root.querySelectorAll<HTMLElement>(
        'button, a.button, select, input:not([type=radio]):not([type=checkbox]), nav a, summary',
      )) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue; // not shown
        if (r.width < 44 - 0.5 || r.height < 44 - 0.5) {
          out.push(
            `${el.tagName.toLowerCase()} "${(el.textContent ?? el.getAttribute('aria-label') ?? '').trim().slice(0, 30)}" ${Math.round(r.width)}×${Math.round(r.height)}`,
          );
        }
      }
    }
    return out;
  }, scope);
}

describe('accessibility', () => {
  const screens: [name: string, path: () => string, ready: string][] = [
    ['schedule', () => `/schedule?date=${MONDAY}`, '[data-testid=day-summary]'],
    [
      'booking form',
      () => `/appointments/new?date=${MONDAY}&doctor=${fixture.doctorA}`,
      '[data-testid=free-slots] button',
    ],
    ['appointment', () => `/appointments/${booked[0]!.id}`, '[data-testid=appointment-actions]'],
    ['patients', () => '/patients', '[data-testid=patients-table] tbody tr[data-id]'],
    ['outbox', () => '/outbox', '[data-testid=outbox-empty]'],
  ];

  it('reception screens: no serious or critical axe violation; 44×44 px targets on a tablet', async () => {
    const found: Record<string, string[]> = {};
    const small: Record<string, string[]> = {};
    for (const [name, path, ready] of screens) {
      await desk.page.goto(`${srv.url}${path()}`);
      await desk.page.locator(ready).first().waitFor({ timeout: 30_000 });
      found[name] = await axeViolations(desk.page);
      if (name !== 'schedule') small[name] = await smallTargets(desk.page, 'header, main');
    }
    // The reschedule picker, opened.
    await desk.page.goto(`${srv.url}/appointments/${booked[0]!.id}`);
    await desk.page.getByRole('button', { name: 'Reschedule' }).click({ timeout: 30_000 });
    await desk.page.locator('[data-testid=reschedule-slots] button').first().waitFor({ timeout: 30_000 });
    found['reschedule picker'] = await axeViolations(desk.page);
    small['reschedule picker'] = await smallTargets(desk.page, 'main');
    await desk.page.screenshot({ path: `${SHOTS_DIR}/appointment-reschedule-tablet.png`, fullPage: true });
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
    expect(small).toEqual(Object.fromEntries(Object.keys(small).map((k) => [k, []])));
  });

  it('admin screens: no serious or critical axe violation', async () => {
    const admin = await openBrowser();
    try {
      await login(admin.page, srv.url, fixture.users.admin.email, TEST_PASSWORD);
      await waitForFirstSync(admin.page);
      const found: Record<string, string[]> = {};
      for (const [path, ready] of [
        ['/admin', 'main h1'],
        ['/admin/users', 'main table tbody tr'],
        ['/admin/sync', 'main h1'],
        ['/admin/audit', 'main h1'],
      ] as const) {
        await admin.page.goto(`${srv.url}${path}`);
        await admin.page.locator(ready).first().waitFor({ timeout: 60_000 });
        found[path] = await axeViolations(admin.page);
      }
      expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
    } finally {
      await admin.close();
    }
  }, 240_000);
});
