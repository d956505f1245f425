// Offline edits in headless Chromium against the real server and sync service: a clinician
// edits reason and clinical notes with no network, reloads (still pending, still shown), and
// once online the edit is applied exactly once and confirmed; an edit that meets someone
// else's change is shown as refused with the server's values, and "Apply my edit again" works.
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

/** An appointment of doctor A, booked on the server by the receptionist. */
async function serverBooking(patient: number, time: string): Promise<string> {
  const api = srv.api();
  await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
  const id = crypto.randomUUID();
  const res = await api.request('POST', '/api/appointments', {
    id,
    patient_id: fixture.patients[patient],
    doctor_id: fixture.doctorA,
    starts_at: `${MONDAY}T${time}:00.000Z`,
    duration_minutes: 30,
    reason: 'Check-up',
  });
  expect(res.status).toBe(201);
  return id;
}

/** Logged in, first sync done, and the appointment is in this browser's replica. */
async function ready(page: Page, email: string, id: string): Promise<void> {
  await login(page, srv.url, email, TEST_PASSWORD);
  await waitForFirstSync(page);
  await expect
    .poll(() => localQuery(page, 'SELECT 1 FROM appointments WHERE id = $1', [id]), { timeout: 30_000 })
    .toHaveLength(1);
}

async function serverRow(id: string) {
  const { rows } = await srv.db.pool.query('SELECT reason, clinical_notes, version FROM appointments WHERE id = $1', [
    id,
  ]);
  return rows[0];
}

async function editViaForm(page: Page, changes: { reason?: string; notes?: string }): Promise<void> {
  await page.getByRole('button', { name: 'Edit details' }).click();
  if (changes.reason !== undefined) await page.getByLabel('Reason').fill(changes.reason);
  if (changes.notes !== undefined) await page.getByLabel('Clinical notes').fill(changes.notes);
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('button', { name: 'Edit details' }).waitFor();
}

const writeState = (page: Page) => page.getByTestId('write-state').getAttribute('data-state');

describe('offline edits', () => {
  it('a clinician edits reason and notes offline -> reload (still pending, shown) -> online -> applied once, confirmed', async () => {
    const id = await serverBooking(0, '09:00');
    const b = await openBrowser();
    try {
      await ready(b.page, fixture.users.clinicianA.email, id);
      await b.context.setOffline(true);
      await b.page.goto(`${srv.url}/appointments/${id}`);
      await editViaForm(b.page, { reason: 'Knee pain', notes: 'Swollen left knee' });
      // Reload at once: the edit must already be durable.
      await b.page.reload();
      await expect.poll(() => writeState(b.page), { timeout: 30_000 }).toContain('pending');
      expect(await b.page.getByTestId('clinical-notes').textContent()).toBe('Swollen left knee');
      expect(await b.page.locator('dd', { hasText: 'Knee pain' }).count()).toBe(1);
      const queued = await localQuery<{ id: string; kind: string; body: unknown }>(
        b.page,
        'SELECT id, kind, body FROM outbox',
      );
      expect(queued).toEqual([
        expect.objectContaining({
          kind: 'update',
          body: { reason: 'Knee pain', clinical_notes: 'Swollen left knee', version: 1 },
        }),
      ]);
      await b.page.screenshot({ path: `${SHOTS_DIR}/offline-edit-pending.png`, fullPage: true });
      expect(await serverRow(id)).toEqual({ reason: 'Check-up', clinical_notes: null, version: 1 });

      await b.context.setOffline(false);
      await expect.poll(() => writeState(b.page), { timeout: 60_000 }).toContain('confirmed');
      // Applied exactly once: one write on top of the booking, one idempotency record.
      expect(await serverRow(id)).toEqual({ reason: 'Knee pain', clinical_notes: 'Swollen left knee', version: 2 });
      const keys = await srv.db.pool.query('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [
        queued[0]!.id,
      ]);
      expect(keys.rows[0].n).toBe(1);
      expect(await localQuery(b.page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay')).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it("an edit that meets someone else's change is refused with the server's values; 'Apply my edit again' applies it", async () => {
    const id = await serverBooking(1, '10:00');
    const b = await openBrowser();
    try {
      await ready(b.page, fixture.users.clinicianA.email, id);
      await b.context.setOffline(true);
      await b.page.goto(`${srv.url}/appointments/${id}`);
      await editViaForm(b.page, { reason: 'Mine' });
      // Meanwhile the receptionist changes the reason on the server.
      const api = srv.api();
      await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
      expect((await api.request('PATCH', `/api/appointments/${id}`, { reason: 'Theirs', version: 1 })).status).toBe(
        200,
      );

      await b.context.setOffline(false);
      await expect.poll(() => writeState(b.page), { timeout: 60_000 }).toContain('rejected');
      const refused = b.page.getByTestId('rejected-edit');
      await refused.waitFor({ timeout: 30_000 });
      expect(await refused.getAttribute('data-code')).toBe('version_conflict');
      expect(await refused.locator('[data-field=reason] .mine').textContent()).toBe('Mine');
      expect(await refused.locator('[data-field=reason] .theirs').textContent()).toBe('Theirs');

      // The Outbox page offers the same choices.
      await b.page.goto(`${srv.url}/outbox`);
      const listed = b.page.locator('[data-testid=outbox-entry][data-state=rejected] [data-testid=rejected-edit]');
      await listed.waitFor({ timeout: 30_000 });
      expect(await listed.getByRole('button', { name: 'Apply my edit again' }).count()).toBe(1);
      await b.page.screenshot({ path: `${SHOTS_DIR}/offline-edit-conflict.png`, fullPage: true });

      await b.page.goto(`${srv.url}/appointments/${id}`);
      await b.page.getByRole('button', { name: 'Apply my edit again' }).click();
      await expect.poll(() => writeState(b.page), { timeout: 60_000 }).toContain('confirmed');
      expect(await serverRow(id)).toEqual({ reason: 'Mine', clinical_notes: null, version: 3 });
      expect(await b.page.getByTestId('rejected-edit').count()).toBe(0);
      expect(await localQuery(b.page, 'SELECT 1 FROM outbox')).toEqual([]);
    } finally {
      await b.close();
    }
  });

  it('a receptionist is not offered clinical notes in the edit form', async () => {
    const id = await serverBooking(2, '11:00');
    const b = await openBrowser();
    try {
      await ready(b.page, fixture.users.receptionist.email, id);
      await b.page.goto(`${srv.url}/appointments/${id}`);
      await b.page.getByRole('button', { name: 'Edit details' }).click();
      const form = b.page.getByTestId('edit-appointment');
      await form.waitFor();
      expect(await form.getByLabel('Reason').count()).toBe(1);
      expect(await form.getByLabel('Urgency').count()).toBe(1);
      expect(await form.getByLabel('Clinical notes').count()).toBe(0);
    } finally {
      await b.close();
    }
  });
});
