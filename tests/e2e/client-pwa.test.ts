// The PWA in Debian's Chromium against the real server (sync service, API, static app) on
// the demo clinic. Every test uses a fresh browser profile.
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDays, clinicDate, isoWeekday } from '../../src/lib/shared/time.js';
import type { ApiClient } from '../setup/server.js';
import {
  eventually,
  localQuery,
  login,
  openBrowser,
  SHOTS_DIR,
  startE2EServer,
  waitForFirstSync,
  type E2EServer,
} from './helpers.js';

const PASSWORD = 'demo-clinic-pass';
const RECEPTION = 'reception@demo.clinic';
let srv: E2EServer;
let reception: ApiClient;

/** The next working day (Mon–Fri, clinic time = UTC here) from today, today included. */
function workingDay(offset = 0): string {
  let d = addDays(clinicDate(Date.now(), 'UTC'), offset);
  while (isoWeekday(d) > 5) d = addDays(d, 1);
  return d;
}

async function apiDay(
  api: ApiClient,
  date: string,
): Promise<{ id: string; status: string; patient: { full_name: string } }[]> {
  const q = new URLSearchParams({
    from: `${date}T00:00:00.000Z`,
    to: `${addDays(date, 1)}T00:00:00.000Z`,
    page_size: '200',
  });
  const res = await api.get(`/api/appointments?${q}`);
  expect(res.status).toBe(200);
  return res.body.results;
}

beforeAll(async () => {
  await mkdir(SHOTS_DIR, { recursive: true });
  srv = await startE2EServer();
  reception = srv.api();
  await reception.login(RECEPTION, PASSWORD);
  // Clinical notes on some rows, so "a receptionist's replica has none" can fail.
  await srv.db.pool.query(
    `UPDATE appointments SET clinical_notes = 'BP 120/80, follow up' WHERE starts_at::date = $1::date`,
    [workingDay()],
  );
});
afterAll(() => srv?.stop());

describe('receptionist', () => {
  it('syncs, and the day view and the list show exactly what the server has for the day', async () => {
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, RECEPTION, PASSWORD);
      await waitForFirstSync(b.page);
      const day = workingDay();
      const fromApi = await apiDay(reception, day);
      expect(fromApi.length).toBeGreaterThan(0);

      await b.page.goto(`${srv.url}/schedule?date=${day}`);
      await b.page.getByLabel('Show cancelled').check();
      const gridIds = async () =>
        b.page
          .locator('[data-testid=grid-appointment]')
          .evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
      const ids = await eventually(gridIds, (v) => v.length === fromApi.length);
      expect(new Set(ids)).toEqual(new Set(fromApi.map((a) => a.id)));
      await b.page.getByLabel('Show cancelled').uncheck();
      await b.page.screenshot({ path: `${SHOTS_DIR}/day-view.png`, fullPage: true });

      // The list, filtered to the same day, paged with Next.
      await b.page.goto(`${srv.url}/appointments`);
      await b.page.getByLabel('From').fill(day);
      await b.page.getByLabel('To', { exact: true }).fill(day);
      const pages = Math.ceil(fromApi.length / 50);
      await expect
        .poll(() => b.page.getByTestId('page-of').textContent(), { timeout: 45_000 })
        .toBe(`Page 1 of ${pages}`);
      const listed: string[] = [];
      for (let p = 1; p <= pages; p++) {
        await expect.poll(() => b.page.getByTestId('page-of').textContent()).toBe(`Page ${p} of ${pages}`);
        const expectedRows = p < pages ? 50 : fromApi.length - 50 * (pages - 1);
        const rows = await eventually(
          () =>
            b.page
              .locator('[data-testid=appointments-table] tbody tr[data-id]')
              .evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!)),
          (v) => v.length === expectedRows && !v.some((id) => listed.includes(id)),
        );
        listed.push(...rows);
        if (p < pages) await b.page.getByRole('button', { name: 'Next ›' }).click();
      }
      expect(new Set(listed)).toEqual(new Set(fromApi.map((a) => a.id)));
      expect(listed).toHaveLength(fromApi.length);
      if (pages > 1) await b.page.getByRole('button', { name: '« First' }).click();
      await expect
        .poll(() => b.page.locator('[data-testid=appointments-table] tbody tr[data-id]').count())
        .toBe(Math.min(50, fromApi.length));
      await b.page.screenshot({ path: `${SHOTS_DIR}/appointments-list.png`, fullPage: true });

      // Patient search, local and as you type.
      const name = fromApi[0]!.patient.full_name;
      await b.page.goto(`${srv.url}/patients`);
      // Type the last name letter by letter: every keystroke queries; the last one must list them.
      await b.page.getByTestId('patient-search').pressSequentially(name.split(' ').slice(1).join(' '), { delay: 30 });
      const rowNames = () =>
        b.page.locator('[data-testid=patients-table] tbody tr[data-id] td:first-child').allTextContents();
      // The list settles on the last keystroke's results (an earlier keystroke's may show first).
      const lastName = name.split(' ').slice(1).join(' ').toLowerCase();
      await expect
        .poll(
          async () => {
            const names = await rowNames();
            return names.some((n) => n.includes(name)) && names.every((n) => n.toLowerCase().includes(lastName));
          },
          { timeout: 15_000 },
        )
        .toBe(true);
      await b.page.screenshot({ path: `${SHOTS_DIR}/patient-search.png`, fullPage: true });

      // No clinical notes reach a receptionist's replica, and the detail page has no field for them.
      const notes = await localQuery<{ n: number }>(
        b.page,
        'SELECT count(*)::int AS n FROM appointments_synced WHERE clinical_notes IS NOT NULL',
      );
      expect(notes[0]!.n).toBe(0);
      await b.page.goto(`${srv.url}/appointments/${fromApi[0]!.id}`);
      await expect
        .poll(() => b.page.getByRole('heading', { level: 1 }).textContent())
        .toContain(fromApi[0]!.patient.full_name);
      expect(await b.page.getByTestId('clinical-notes').count()).toBe(0);
    } finally {
      await b.close();
    }
  });

  it('shows a booking made elsewhere within seconds, without a reload', async () => {
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, RECEPTION, PASSWORD);
      await waitForFirstSync(b.page);
      const day = workingDay(7);
      await b.page.goto(`${srv.url}/schedule?date=${day}`);
      const doctors = (await reception.get('/api/doctors?page_size=50')).body.results as { id: string }[];
      const patients = (await reception.get('/api/patients?page_size=200')).body.results as {
        id: string;
        full_name: string;
      }[];
      const { slot, doctor } = await findSlot(
        doctors.map((d) => d.id),
        day,
      );
      const before = await b.page.locator('[data-testid=grid-appointment]').count();
      const id = randomUUID();
      const booked = await bookFirstFreePatient(id, doctor, slot, patients);
      const block = b.page.locator(`[data-testid=grid-appointment][data-id="${id}"]`);
      // "Within seconds": 20 s leaves room for a machine shared with other test runs.
      await expect
        .poll(() => block.count(), { timeout: 20_000 })
        .toBe(1)
        .catch(async (err) => {
          const local = await localQuery(b.page, 'SELECT id FROM appointments_synced WHERE id = $1', [id]);
          throw new Error(`${err.message}; row in the local database: ${local.length === 1}`);
        });
      expect(await block.textContent()).toContain(booked.full_name);
      expect(await b.page.locator('[data-testid=grid-appointment]').count()).toBe(before + 1);

      // The open appointments list (plain reads under a shared change watch) gets the next
      // booking too: its row and its total, without a reload.
      await b.page.goto(`${srv.url}/appointments`);
      const filters = b.page.getByRole('form', { name: 'Filters' });
      await filters.getByLabel('Doctor').selectOption(doctor);
      await filters.getByLabel('From').fill(day);
      await filters.getByLabel('To', { exact: true }).fill(day);
      const listRows = b.page.locator('[data-testid=appointments-table] tbody tr[data-id]');
      const total = b.page.locator('.pager .muted');
      await expect
        .poll(() => listRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), { timeout: 45_000 })
        .toContain(id);
      await b.page.locator('[data-testid=page-of][data-settled=true]').waitFor();
      const listedBefore = await listRows.count();
      expect(await total.textContent()).toBe(`${listedBefore} appointments`);
      const next = await findSlot([doctor], day);
      const secondId = randomUUID();
      await bookFirstFreePatient(secondId, doctor, next.slot, patients);
      await expect
        .poll(() => listRows.evaluateAll((els) => els.map((e) => e.getAttribute('data-id'))), { timeout: 20_000 })
        .toContain(secondId);
      await expect.poll(() => total.textContent(), { timeout: 20_000 }).toBe(`${listedBefore + 1} appointments`);
    } finally {
      await b.close();
    }
  });

  it('reloads offline from the service worker with its local data, and catches up when back online', async () => {
    const b = await openBrowser();
    const shapeStarts: string[] = [];
    b.context.on('request', (req) => {
      if (req.url().includes('/v1/shape') && req.url().includes('offset=-1')) shapeStarts.push(req.url());
    });
    try {
      await login(b.page, srv.url, RECEPTION, PASSWORD);
      await waitForFirstSync(b.page);
      const initialRequests = shapeStarts.length;
      expect(initialRequests).toBeGreaterThanOrEqual(6);
      // The service worker must control the page before the network goes away: once it is
      // active, the reload is served under its control.
      await b.page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      await b.page.reload();
      expect(await b.page.evaluate(() => navigator.serviceWorker.controller !== null)).toBe(true);
      await waitForFirstSync(b.page);
      await b.page.waitForTimeout(1_000);
      // A reload resumes every shape from its stored offset: no new snapshot request.
      expect(shapeStarts.length).toBe(initialRequests);

      const day = workingDay();
      const fromApi = await apiDay(reception, day);
      await b.context.setOffline(true);
      await b.page.goto(`${srv.url}/schedule?date=${day}`);
      await b.page.getByLabel('Show cancelled').check();
      await expect
        .poll(() => b.page.locator('[data-testid=grid-appointment]').count(), { timeout: 30_000 })
        .toBe(fromApi.length);
      // The badge follows the browser's own online flag. Under this test's network emulation a
      // page served by the service worker may still report navigator.onLine = true; the badge
      // must then not claim to be up to date, and say offline whenever the browser does.
      const browserOnline = await b.page.evaluate(() => navigator.onLine);
      await expect
        .poll(() => b.page.getByTestId('sync-badge').textContent())
        .toContain(browserOnline ? 'syncing' : 'offline');
      await b.page.screenshot({ path: `${SHOTS_DIR}/offline-day-view.png`, fullPage: true });
      await b.page.getByRole('link', { name: 'Appointments' }).click();
      await expect
        .poll(() => b.page.locator('[data-testid=appointments-table] tbody tr[data-id]').count(), { timeout: 30_000 })
        .toBe(50)
        .catch(async (err) => {
          await b.page.screenshot({ path: `${SHOTS_DIR}/offline-list-failure.png`, fullPage: true });
          throw err;
        });

      // Meanwhile, on the server: a booking. Back online, it arrives without a reload.
      const doctors = (await reception.get('/api/doctors?page_size=50')).body.results as { id: string }[];
      const patients = (await reception.get('/api/patients?page_size=200')).body.results as {
        id: string;
        full_name: string;
      }[];
      const later = workingDay(14);
      const { slot, doctor } = await findSlot(
        doctors.map((d) => d.id),
        later,
      );
      const id = randomUUID();
      await bookFirstFreePatient(id, doctor, slot, patients);
      await b.page.goto(`${srv.url}/schedule?date=${later}`);
      await b.page.waitForTimeout(500);
      expect(await b.page.locator(`[data-id="${id}"]`).count()).toBe(0);
      await b.context.setOffline(false);
      await expect.poll(() => b.page.locator(`[data-id="${id}"]`).count(), { timeout: 30_000 }).toBe(1);
      expect(shapeStarts.length).toBe(initialRequests);
    } finally {
      await b.close();
    }
  });

  it('keeps local data when the session expires, and resumes syncing after a new login', async () => {
    const b = await openBrowser();
    const shapeStarts: string[] = [];
    b.context.on('request', (req) => {
      if (req.url().includes('/v1/shape') && req.url().includes('offset=-1')) shapeStarts.push(req.url());
    });
    try {
      await login(b.page, srv.url, RECEPTION, PASSWORD);
      await waitForFirstSync(b.page);
      const snapshots = shapeStarts.length;
      const count = async () =>
        (await localQuery<{ n: number }>(b.page, 'SELECT count(*)::int AS n FROM appointments_synced'))[0]!.n;
      const before = await count();
      // The server forgets every session of the receptionist (as after a password change).
      await srv.db.pool.query(`DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE email = $1)`, [
        RECEPTION,
      ]);
      await reception.login(RECEPTION, PASSWORD); // the test's own API client lost its session too
      await b.page.reload();
      await expect
        .poll(() => b.page.getByRole('alert').filter({ hasText: 'session has ended' }).count(), { timeout: 30_000 })
        .toBe(1);
      expect(await count()).toBe(before);
      // A booking made while this device could not sync arrives after the new login.
      const doctors = (await reception.get('/api/doctors?page_size=50')).body.results as { id: string }[];
      const patients = (await reception.get('/api/patients?page_size=200')).body.results as {
        id: string;
        full_name: string;
      }[];
      const { slot, doctor } = await findSlot(
        doctors.map((d) => d.id),
        workingDay(21),
      );
      const id = randomUUID();
      await bookFirstFreePatient(id, doctor, slot, patients);
      await b.page.getByRole('link', { name: 'Log in again' }).click();
      await b.page.getByLabel('Password').fill(PASSWORD);
      await b.page.getByRole('button', { name: 'Log in' }).click();
      await b.page.waitForURL(/\/schedule/);
      await eventually(
        () =>
          localQuery<{ n: number }>(b.page, 'SELECT count(*)::int AS n FROM appointments_synced WHERE id = $1', [id]),
        (rows) => rows[0]!.n === 1,
        30_000,
      );
      expect(shapeStarts.length).toBe(snapshots);
    } finally {
      await b.close();
    }
  });

  it('logout deletes the local database and the remembered user', async () => {
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, RECEPTION, PASSWORD);
      await waitForFirstSync(b.page);
      const before = await storedData(b.page);
      expect(before.databases.length + before.opfs.length).toBeGreaterThan(0);
      await b.page.getByText('Rita Reception').click();
      await b.page.getByRole('button', { name: 'Log out' }).click();
      await b.page.waitForURL(/\/login/);
      const after = await eventually(
        () => storedData(b.page),
        (s) => s.databases.length === 0 && s.opfs.length === 0,
      );
      expect(after.user).toBeNull();
      // A different user on the same browser starts from an empty replica of their own.
      await login(b.page, srv.url, 'doctor1@demo.clinic', PASSWORD);
      await waitForFirstSync(b.page);
      const me = (
        await localQuery<{ n: number }>(b.page, 'SELECT count(DISTINCT doctor_id)::int AS n FROM appointments_synced')
      )[0]!;
      expect(me.n).toBe(1);
    } finally {
      await b.close();
    }
  });
});

describe('clinician', () => {
  it("holds only the clinician's own appointments and patients, with clinical notes", async () => {
    const api = srv.api();
    const { body } = await api.login('doctor1@demo.clinic', PASSWORD);
    const doctorId = body.user.doctor_id as string;
    const b = await openBrowser();
    try {
      await login(b.page, srv.url, 'doctor1@demo.clinic', PASSWORD);
      await waitForFirstSync(b.page);
      const [local] = await localQuery<{ n: number; doctors: string[]; notes: number; orphans: number }>(
        b.page,
        `SELECT count(*)::int AS n, array_agg(DISTINCT doctor_id::text) AS doctors,
                count(clinical_notes)::int AS notes,
                (SELECT count(*)::int FROM patients_synced p
                  WHERE NOT EXISTS (SELECT 1 FROM appointments_synced a WHERE a.patient_id = p.id)) AS orphans
           FROM appointments_synced`,
      );
      const server = await srv.db.pool.query<{ n: number; notes: number }>(
        `SELECT count(*)::int AS n, count(clinical_notes)::int AS notes FROM appointments WHERE doctor_id = $1 AND deleted_at IS NULL`,
        [doctorId],
      );
      expect(local!.doctors).toEqual([doctorId]);
      expect(local!.n).toBe(server.rows[0]!.n);
      expect(local!.notes).toBe(server.rows[0]!.notes);
      expect(local!.orphans).toBe(0);
      const total = await srv.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM appointments');
      expect(local!.n).toBeLessThan(total.rows[0]!.n);
    } finally {
      await b.close();
    }
  });
});

async function findSlot(doctorIds: string[], date: string): Promise<{ doctor: string; slot: { starts_at: string } }> {
  for (const doctor of doctorIds) {
    const res = await reception.get(`/api/doctors/${doctor}/availability?date=${date}&duration=30`);
    if (res.status === 200 && res.body.slots.length) return { doctor, slot: res.body.slots[0] };
  }
  throw new Error(`no free slot on ${date}`);
}

async function bookFirstFreePatient(
  id: string,
  doctor: string,
  slot: { starts_at: string },
  patients: { id: string; full_name: string }[],
) {
  for (const p of patients) {
    const res = await reception.post('/api/appointments', {
      id,
      patient_id: p.id,
      doctor_id: doctor,
      starts_at: slot.starts_at,
      duration_minutes: 30,
      urgency: 'routine',
      reason: 'Booked from the e2e test',
    });
    if (res.status === 201) return p;
    if (res.body?.error?.code !== 'patient_conflict')
      throw new Error(`booking failed: ${res.status} ${JSON.stringify(res.body)}`);
  }
  throw new Error('every patient is busy');
}

async function storedData(page: import('playwright-core').Page) {
  return page.evaluate(async () => {
    const databases = ((await indexedDB.databases?.()) ?? [])
      .map((d) => d.name ?? '')
      .filter((n) => n.includes('clinic-'));
    const opfs: string[] = [];
    const root = await navigator.storage.getDirectory();
    for await (const name of (root as unknown as { keys(): AsyncIterable<string> }).keys())
      if (name.includes('clinic-')) opfs.push(name);
    return { databases, opfs, user: localStorage.getItem('clinic.user') };
  });
}
