// Bulk offline writes and durability in headless Chromium against the real server and sync
// service: 50 mixed writes made through the UI with no network are replayed in order, once
// each, and leave the replica equal to the server; a booking on IndexedDB with relaxed
// durability survives a reload made at once; a 429 with Retry-After during the replay is
// waited out without losing or repeating anything.
import { mkdir } from 'node:fs/promises';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFixture, TEST_PASSWORD, type Fixture } from '../setup/fixtures.js';
import {
  clientNavigate,
  eventually,
  localQuery,
  login,
  openBrowser,
  SHOTS_DIR,
  startE2EServer,
  waitForFirstSync,
  type E2EServer,
} from './helpers.js';

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

beforeAll(async () => {
  await mkdir(SHOTS_DIR, { recursive: true });
  srv = await startE2EServer({
    seed: 'none',
    prepare: async (db) => void (fixture = await createFixture(db.pool, { patients: 40 })),
  });
});
afterAll(() => srv?.stop());

/** The one-tap buttons of the detail page and the status each one leads to. */
const TAPS = {
  Confirm: 'confirmed',
  'Check in': 'checked_in',
  Start: 'in_progress',
  Complete: 'completed',
  Cancel: 'cancelled',
  'No-show': 'no_show',
} as const;
type Tap = keyof typeof TAPS;
/** A tap, or a move to another free slot of the same day (HH:MM, UTC). */
type Step = Tap | { moveTo: string };

async function ready(page: Page, email: string): Promise<void> {
  await login(page, srv.url, email, TEST_PASSWORD);
  await waitForFirstSync(page);
}

const mrn = (patient: number) => `TST${String(patient + 1).padStart(5, '0')}`;

/** Books through the form (reached by a client-side link), the patient found by MRN. */
async function bookViaForm(page: Page, doctorId: string, patient: number, startsAt: string): Promise<string> {
  await clientNavigate(page, `/appointments/new?date=${startsAt.slice(0, 10)}&doctor=${doctorId}`);
  await page.getByPlaceholder('name, MRN or phone').fill(mrn(patient));
  await page.getByRole('radio', { name: mrn(patient) }).check();
  await page.locator(`[data-testid=free-slots] button[data-start="${startsAt}"]`).click();
  await page.waitForURL(/\/appointments\/[0-9a-f-]{36}$/);
  return page.url().split('/').pop()!;
}

/** The action bar of one appointment (the detail page keeps its component across ids). */
function actionBar(page: Page, id: string, status?: string) {
  return page.locator(`[data-testid=appointment-actions][data-id="${id}"]${status ? `[data-status=${status}]` : ''}`);
}

/** Runs the steps on one appointment's page; returns the id the last step left (a move makes a new row). */
async function runSteps(page: Page, id: string, steps: Step[]): Promise<string> {
  if (!page.url().endsWith(`/appointments/${id}`)) await clientNavigate(page, `/appointments/${id}`);
  for (const step of steps) {
    // A final status has no buttons left: the (empty) bar is attached, not visible.
    await actionBar(page, id).waitFor({ state: 'attached' });
    if (typeof step === 'string') {
      await actionBar(page, id).getByRole('button', { name: step, exact: true }).click();
      await actionBar(page, id, TAPS[step]).waitFor({ state: 'attached' });
      continue;
    }
    await actionBar(page, id).getByRole('button', { name: 'Reschedule', exact: true }).click();
    await page.locator('input[type=date]').fill(day);
    await page.getByRole('button', { name: step.moveTo, exact: true }).click();
    await actionBar(page, id, 'rescheduled').waitFor({ state: 'attached' });
    const [moved] = await localQuery<{ id: string }>(page, 'SELECT id FROM appointments WHERE rescheduled_from = $1', [
      id,
    ]);
    id = moved!.id;
    await clientNavigate(page, `/appointments/${id}`);
  }
  return id;
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

interface Row {
  id: string;
  status: string;
  starts_at: string;
  version: number;
}

async function serverRows(ids: string[]): Promise<Row[]> {
  const { rows } = await srv.db.pool.query<Row>(
    `SELECT id, status, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS starts_at, version
       FROM appointments WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [ids],
  );
  return rows;
}

async function replicaRows(page: Page, ids: string[]): Promise<Row[]> {
  return localQuery<Row>(
    page,
    `SELECT id, status, to_char(starts_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI') AS starts_at, version
       FROM appointments WHERE id = ANY($1::uuid[]) AND NOT pending ORDER BY id`,
    [ids],
  );
}

interface QueuedWrite {
  id: string;
  kind: string;
  entity_id: string;
  result_id: string | null;
  to: string | null;
}

/** The outbox in queue order, as the server's audit log must show it once applied. */
async function queuedWrites(page: Page): Promise<QueuedWrite[]> {
  return localQuery<QueuedWrite>(
    page,
    `SELECT id, kind, entity_id, result_id, body->>'status' AS to FROM outbox ORDER BY seq`,
  );
}

const AUDIT_ACTION: Record<string, string> = {
  book: 'appointment.book',
  status: 'appointment.status',
  cancel: 'appointment.cancel',
  reschedule: 'appointment.reschedule',
};

/** What each queued write leaves in the audit log: action, row, and the status it set. */
function expectedAudit(writes: QueuedWrite[]) {
  return writes.map((w) => ({
    action: AUDIT_ACTION[w.kind],
    entity_id: w.kind === 'book' || w.kind === 'reschedule' ? w.result_id : w.entity_id,
    to: w.kind === 'status' ? w.to : w.kind === 'cancel' ? 'cancelled' : null,
  }));
}

async function auditSince(afterId: number) {
  const { rows } = await srv.db.pool.query(
    `SELECT action, entity_id, details->>'to' AS to FROM audit_log
      WHERE id > $1 AND actor_id = $2 AND action = ANY($3::text[]) ORDER BY id`,
    [afterId, fixture.users.receptionist.id, Object.values(AUDIT_ACTION)],
  );
  return rows;
}

async function lastAuditId(): Promise<number> {
  const { rows } = await srv.db.pool.query<{ id: string }>('SELECT coalesce(max(id), 0) AS id FROM audit_log');
  return Number(rows[0]!.id);
}

async function waitForEmptyOutbox(page: Page, timeoutMs = 90_000): Promise<void> {
  await eventually(
    () => localQuery(page, 'SELECT 1 FROM outbox UNION ALL SELECT 1 FROM appointments_overlay'),
    (rows) => rows.length === 0,
    timeoutMs,
  );
}

async function keysOnServer(keys: string[]): Promise<number> {
  const { rows } = await srv.db.pool.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM idempotency_keys WHERE key = ANY($1::uuid[])',
    [keys],
  );
  return rows[0]!.n;
}

async function forceIndexedDb(context: BrowserContext): Promise<void> {
  await context.addInitScript(() => localStorage.setItem('clinic.storage', 'idb'));
}

interface Expected {
  status: string;
  starts_at: string;
}

/** What the rows must look like in the end, kept up to date as the test acts. */
class Expectations {
  readonly rows = new Map<string, Expected>();

  set(id: string, status: string, startsAt: string): void {
    this.rows.set(id, { status, starts_at: startsAt.slice(0, 16) });
  }

  /** Runs the steps in the browser and records their outcome. */
  async run(page: Page, id: string, steps: Step[]): Promise<void> {
    let current = id;
    for (const step of steps) {
      const next = await runSteps(page, current, [step]);
      const before = this.rows.get(current)!;
      if (typeof step === 'string') this.set(current, TAPS[step], before.starts_at);
      else {
        this.set(current, 'rescheduled', before.starts_at);
        this.set(next, 'scheduled', at(step.moveTo));
      }
      current = next;
    }
  }

  sorted(): Array<{ id: string } & Expected> {
    return [...this.rows].map(([id, row]) => ({ id, ...row })).sort((a, b) => a.id.localeCompare(b.id));
  }
}

describe('bulk offline writes', () => {
  it('50 mixed writes through the UI offline -> online -> applied once each, in order; replica equals server', async () => {
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

      // 34 taps and moves on synced rows and on rows booked offline (these depend on their booking).
      await expected.run(page, s0, ['Confirm', 'Check in', 'Start', 'Complete']);
      await expected.run(page, onA[0]!, ['Confirm', 'Check in', 'Start', 'Complete']);
      await expected.run(page, s1!, ['Check in', 'Start']);
      await expected.run(page, onB[1]!, ['Check in', 'Start']);
      await expected.run(page, s2!, ['Cancel']);
      await expected.run(page, onA[2]!, ['Cancel']);
      await expected.run(page, s3!, ['No-show']);
      await expected.run(page, onB[3]!, ['No-show']);
      await expected.run(page, s4!, [{ moveTo: '15:00' }, 'Confirm']);
      await expected.run(page, onA[4]!, [{ moveTo: '15:30' }, 'Check in']);
      await expected.run(page, s5!, ['Confirm', { moveTo: '15:00' }]);
      await expected.run(page, onA[6]!, [{ moveTo: '16:00' }, { moveTo: '16:30' }]);
      await expected.run(page, s6!, ['Check in', 'Cancel']);
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
      await expect.poll(() => page.getByTestId('outbox-counter').textContent()).toContain('50 pending');
      expect(await keysOnServer(queued.map((w) => w.id))).toBe(0);
      await page.screenshot({ path: `${SHOTS_DIR}/offline-bulk-queued.png`, fullPage: true });

      const auditBefore = await lastAuditId();
      await b.context.setOffline(false);
      await waitForEmptyOutbox(page);

      // On the server: every row once, each in its final state, nothing else.
      const ids = [...expected.rows.keys()];
      expect(ids).toHaveLength(31);
      const server = await serverRows(ids);
      expect(server.map(({ id, status, starts_at }) => ({ id, status, starts_at }))).toEqual(expected.sorted());
      const { rows: total } = await srv.db.pool.query(
        `SELECT count(*)::int AS n FROM appointments WHERE (starts_at AT TIME ZONE 'UTC')::date = $1`,
        [day],
      );
      expect(total[0].n).toBe(31);
      expect(await keysOnServer(queued.map((w) => w.id))).toBe(50);
      // Applied in queue order, each exactly once (a replay answered from the idempotency table is not audited).
      expect(await auditSince(auditBefore)).toEqual(expectedAudit(queued));
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
      await expect.poll(() => page.getByTestId('write-state').textContent(), { timeout: 30_000 }).toContain('pending');
      await page.screenshot({ path: `${SHOTS_DIR}/offline-bulk-idb-reloaded.png`, fullPage: true });

      await b.context.setOffline(false);
      await expect
        .poll(() => page.getByTestId('write-state').textContent(), { timeout: 60_000 })
        .toContain('confirmed');
      expect((await serverRows([id])).map((r) => r.status)).toEqual(['scheduled']);
      expect(await keysOnServer([id])).toBe(1);
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
      const auditBefore = await lastAuditId();
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
      expect(await keysOnServer(ids)).toBe(3);
      expect((await serverRows(ids)).map((r) => r.status)).toEqual(['scheduled', 'scheduled', 'scheduled']);
      expect(await auditSince(auditBefore)).toEqual(expectedAudit(queued));
    } finally {
      await b.close();
    }
  });
});
