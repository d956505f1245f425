// Bulk offline writes and durability in headless Chromium against the real server and sync
// service: 50 mixed writes made through the UI with no network are replayed in order, once
// each, and leave the replica equal to the server; a booking on IndexedDB with relaxed
// durability survives a reload made at once; a 429 with Retry-After during the replay is
// waited out without losing or repeating anything.
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import {
  clientNavigate,
  eventually,
  localQuery,
  login,
  openBrowser,
  SHOTS_DIR,
  useFixtureServer,
  waitForFirstSync,
  type E2EServer,
} from './helpers.js';
import { bookViaForm, Expectations } from './offline-actions.js';
import {
  auditSince,
  auditedWrites,
  rowOrderViolations,
  expectedAudit,
  keysOnServer,
  lastAuditId,
  queuedWrites,
  replicaRows,
  serverRows,
  waitForEmptyOutbox,
} from './offline-checks.js';

// Each test (and each retry of one) books on a day of its own, a week after the last one, so a
// retry never meets the rows of an earlier attempt.
let weeks = 0;
let day = '';
function newDay(): string {
  day = new Date(Date.UTC(2030, 0, 7 + 7 * weeks++)).toISOString().slice(0, 10);
  return day;
}
const at = (hhmm: string) => `${day}T${hhmm}:00.000Z`;
let srv: E2EServer;
let fixture: Fixture;

useFixtureServer(40, (server, clinic) => {
  srv = server;
  fixture = clinic;
});

async function ready(page: Page, email: string): Promise<void> {
  await login(page, srv.url, email, TEST_PASSWORD);
  await waitForFirstSync(page);
}

/** Books on the server (as the receptionist) before the browser's first sync. */
async function bookOnServer(
  api: ReturnType<E2EServer['api']>,
  doctorId: string,
  patient: number,
  startsAt: string,
): Promise<string> {
  const id = crypto.randomUUID();
  const res = await api.request('POST', '/api/appointments', {
    id,
    patient_id: fixture.patients[patient],
    doctor_id: doctorId,
    starts_at: startsAt,
    duration_minutes: 30,
  });
  expect(res.status).toBe(201);
  return id;
}

async function forceIndexedDb(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => localStorage.setItem('clinic.storage', 'idb'));
}

describe('bulk offline writes', () => {
  it('50 mixed writes through the UI offline -> online -> applied once each, in order per row; replica equals server', async () => {
    newDay();
    const { doctorA, doctorB } = fixture;
    const expected = new Expectations();
    const api = srv.api();
    await api.login(fixture.users.receptionist.email, TEST_PASSWORD);
    // Ten synced rows: patients 0-4 with doctor A, 5-9 with doctor B, 08:00-10:00.
    const synced: string[] = [];
    for (let i = 0; i < 10; i++) {
      const startsAt = at(['08:00', '08:30', '09:00', '09:30', '10:00'][i % 5]!);
      synced.push(await bookOnServer(api, i < 5 ? doctorA : doctorB, i, startsAt));
      expected.set(synced[i]!, 'scheduled', startsAt);
    }

    const b = await openBrowser();
    try {
      const { page } = b;
      await ready(page, fixture.users.receptionist.email);
      await eventually(
        () => localQuery(page, 'SELECT 1 FROM appointments WHERE id = ANY($1::uuid[])', [synced]),
        (rows) => rows.length === 10,
      );
      await b.context.setOffline(true);

      // 16 bookings, alternating doctors: patients 10-17 with A, 18-25 with B, 11:00-14:30.
      const booked: string[] = [];
      const times = ['11:00', '11:30', '12:00', '12:30', '13:00', '13:30', '14:00', '14:30'];
      for (let i = 0; i < 8; i++) {
        for (const [doctor, patient] of [
          [doctorA, 10 + i],
          [doctorB, 18 + i],
        ] as const) {
          const id = await bookViaForm(page, doctor, patient, at(times[i]!));
          expected.set(id, 'scheduled', at(times[i]!));
          booked.push(id);
        }
      }
      const onA = booked.filter((_, i) => i % 2 === 0);
      const onB = booked.filter((_, i) => i % 2 === 1);
      const [s0, s1, s2, s3, s4, s5, s6, s7, s8, s9] = synced as [string, ...string[]];

      // 34 taps and moves on synced rows and on rows booked offline (these depend on their
      // booking). Check-in, start and no-show are bound to the appointment's day and time
      // (docs/booking.md), so on these future rows the one-tap steps are confirm and cancel.
      await expected.run(page, s0, ['Confirm', 'Cancel']);
      await expected.run(page, onA[0]!, ['Confirm', 'Cancel']);
      await expected.run(page, s1!, ['Confirm', 'Cancel']);
      await expected.run(page, onB[1]!, ['Confirm', 'Cancel']);
      await expected.run(page, onB[0]!, ['Confirm', 'Cancel']);
      await expected.run(page, onB[2]!, ['Confirm', 'Cancel']);
      await expected.run(page, s2!, ['Cancel']);
      await expected.run(page, onA[2]!, ['Cancel']);
      await expected.run(page, s3!, ['Confirm']);
      await expected.run(page, onB[3]!, ['Confirm']);
      await expected.run(page, s4!, [{ moveTo: at('15:00') }, 'Confirm']);
      await expected.run(page, onA[4]!, [{ moveTo: at('15:30') }, 'Confirm']);
      await expected.run(page, s5!, ['Confirm', { moveTo: at('15:00') }]);
      await expected.run(page, onA[6]!, [{ moveTo: at('16:00') }, { moveTo: at('16:30') }]);
      await expected.run(page, s6!, ['Confirm', 'Cancel']);
      await expected.run(page, onA[7]!, ['Confirm', 'Cancel']);
      for (const id of [s7!, s8!, s9!, onB[5]!, onB[6]!, onA[5]!]) await expected.run(page, id, ['Confirm']);

      const queued = await queuedWrites(page);
      expect(queued).toHaveLength(50);
      expect(new Set(queued.map((w) => w.id)).size).toBe(50);
      expect(await localQuery(page, `SELECT DISTINCT state FROM outbox`)).toEqual([{ state: 'pending' }]);
      // A change to a row booked offline waits for its booking: it depends on a queued entry.
      const createdOffline = new Set(queued.map((w) => w.result_id).filter(Boolean));
      const dependent = await localQuery<{ entity_id: string; depends_on: string | null }>(
        page,
        `SELECT entity_id, depends_on FROM outbox WHERE kind <> 'book' ORDER BY seq`,
      );
      for (const w of dependent) expect(w.depends_on !== null).toBe(createdOffline.has(w.entity_id));
      await expect.poll(() => page.getByTestId('outbox-counter').textContent()).toContain('50 waiting to send');
      expect(
        await keysOnServer(
          srv.db.pool,
          queued.map((w) => w.id),
        ),
      ).toBe(0);
      await page.screenshot({ path: `${SHOTS_DIR}/offline-bulk-queued.png`, fullPage: true });

      const auditBefore = await lastAuditId(srv.db.pool);
      await b.context.setOffline(false);
      await waitForEmptyOutbox(page);

      // On the server: every row once, each in its final state, nothing else.
      const ids = [...expected.rows.keys()];
      expect(ids).toHaveLength(31);
      const server = await serverRows(srv.db.pool, ids);
      expect(server.map(({ id, status, starts_at }) => ({ id, status, starts_at }))).toEqual(expected.sorted());
      const { rows: total } = await srv.db.pool.query(
        `SELECT count(*)::int AS n FROM appointments WHERE (starts_at AT TIME ZONE 'UTC')::date = $1`,
        [day],
      );
      expect(total[0].n).toBe(31);
      expect(
        await keysOnServer(
          srv.db.pool,
          queued.map((w) => w.id),
        ),
      ).toBe(50);
      // Each applied exactly once (a replay answered from the idempotency table is not audited),
      // and the writes on one row in queue order (writes on different rows go side by side).
      const audit = await auditSince(srv.db.pool, fixture.users.receptionist.id, auditBefore);
      expect(auditedWrites(audit)).toEqual(auditedWrites(expectedAudit(queued)));
      expect(rowOrderViolations(audit, queued)).toEqual([]);
      // The replica holds the server's rows: same status, time and version, nothing pending.
      await eventually(
        () => replicaRows(page, ids),
        (rows) => JSON.stringify(rows) === JSON.stringify(server),
        30_000,
      );
      await expect.poll(() => page.getByTestId('outbox-counter').textContent()).toContain('all saved');
    } finally {
      await b.close();
    }
  });

  it('IndexedDB with relaxed durability: a booking reloaded at once is still there, then sent once', async () => {
    newDay();
    const b = await openBrowser();
    try {
      const { page } = b;
      await forceIndexedDb(b.context);
      await ready(page, fixture.users.receptionist.email);
      await page.evaluate(() => navigator.serviceWorker.ready);
      await clientNavigate(page, '/device');
      await expect.poll(() => page.locator('dd').allTextContents()).toContain('IndexedDB (relaxed durability)');
      const stores = await page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name));
      expect(stores.some((name) => name?.startsWith('/pglite/clinic-'))).toBe(true);

      await b.context.setOffline(true);
      const id = await bookViaForm(page, fixture.doctorB, 30, at('16:30'));
      // No waiting: the write must already be durable when the form moved on.
      await page.reload();
      // Asked as soon as the reloaded app has opened its database (a lost write reads as []).
      const afterReload = await eventually(
        () => localQuery(page, 'SELECT state FROM outbox WHERE id = $1', [id]),
        () => true,
        30_000,
      );
      expect(afterReload).toEqual([{ state: 'pending' }]);
      await expect
        .poll(() => page.getByTestId('write-state').getAttribute('data-state'), { timeout: 30_000 })
        .toContain('pending');
      await page.screenshot({ path: `${SHOTS_DIR}/offline-bulk-idb-reloaded.png`, fullPage: true });

      await b.context.setOffline(false);
      await expect
        .poll(() => page.getByTestId('write-state').getAttribute('data-state'), { timeout: 60_000 })
        .toContain('confirmed');
      expect((await serverRows(srv.db.pool, [id])).map((r) => r.status)).toEqual(['scheduled']);
      expect(await keysOnServer(srv.db.pool, [id])).toBe(1);
      await waitForEmptyOutbox(page);
    } finally {
      await b.close();
    }
  });

  it('a 429 with Retry-After during the replay is waited out: nothing lost, nothing repeated, order kept', async () => {
    newDay();
    const b = await openBrowser();
    try {
      const { page, context } = b;
      await ready(page, fixture.users.receptionist.email);
      await context.setOffline(true);
      const ids: string[] = [];
      for (const [patient, time] of [
        [31, '08:00'],
        [32, '08:30'],
        [33, '09:00'],
      ] as const)
        ids.push(await bookViaForm(page, fixture.doctorA, patient, at(time)));
      const queued = await queuedWrites(page);

      // The server is busy for the first request of the replay only.
      const seen: string[] = [];
      await context.route('**/api/appointments', async (route) => {
        if (route.request().method() !== 'POST') return route.continue();
        const key = (await route.request().headerValue('idempotency-key')) ?? '';
        seen.push(key);
        if (seen.length > 1) return route.continue();
        return route.fulfill({
          status: 429,
          headers: { 'retry-after': '3', 'content-type': 'application/json' },
          body: JSON.stringify({ error: { code: 'rate_limited', message: 'Too many requests.' } }),
        });
      });
      const auditBefore = await lastAuditId(srv.db.pool);
      await context.setOffline(false);

      // The refused entry waits at least the server's 3 s, more than the 1 s the backoff would pick.
      const [waiting] = await eventually(
        () =>
          localQuery<{ id: string; state: string; wait_s: number }>(
            page,
            `SELECT id, state, extract(epoch FROM next_attempt_at - updated_at)::float AS wait_s
               FROM outbox WHERE last_error->>'status' = '429'`,
          ),
        (rows) => rows.length === 1,
        30_000,
      );
      expect(waiting!.id).toBe(ids[0]);
      expect(waiting!.state).toBe('pending');
      expect(waiting!.wait_s).toBeGreaterThanOrEqual(2.9);

      await waitForEmptyOutbox(page);
      expect(seen).toEqual([ids[0], ids[0], ids[1], ids[2]]);
      expect(await keysOnServer(srv.db.pool, ids)).toBe(3);
      expect((await serverRows(srv.db.pool, ids)).map((r) => r.status)).toEqual([
        'scheduled',
        'scheduled',
        'scheduled',
      ]);
      expect(await auditSince(srv.db.pool, fixture.users.receptionist.id, auditBefore)).toEqual(expectedAudit(queued));
    } finally {
      await b.close();
    }
  });
});
