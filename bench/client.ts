// npm run bench:client — the PWA in headless Chromium against the real server with a large
// clinic (npm run seed's generator: 20 doctors, 20k patients, 50k appointments by default).
// Measures (a) time to first sync, (b) a 50-row page (first / middle / last): the query alone
// through the shared worker, and rendered in the real Appointments screen (click or filter
// change → rows in the DOM → frame painted, the screen's own performance.measure), (c) patient
// search per keystroke, query-only and rendered (typed into the real Patients screen), (d) cold
// start of the installed app offline after a browser restart, and the bytes of the first load.
// Writes bench/results/.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { hashPassword } from '../server/auth/passwords.js';
import { withTransaction } from '../server/db/transaction.js';
import { startBrowserBenchServer } from './browser-bench-server.js';
import { machineAtEnd, machineAtStart } from './machine.js';
import { generateClinic } from '../server/seed/generate.js';
import { loadClinic } from '../server/seed/load.js';
import {
  countAppointmentsQuery,
  appointmentPageQuery,
  type AppointmentFilters,
} from '../src/lib/db/queries/appointments.js';
import { searchPatientsQuery } from '../src/lib/db/queries/patients.js';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';

const { values: args } = parseArgs({
  options: {
    patients: { type: 'string', default: '20000' },
    appointments: { type: 'string', default: '50000' },
    // The server keeps 8 weeks of history on a device (server/clinic-sync/shape-rules.ts): with
    // 120 doctors the 50k appointments fall inside that window, so the replica holds them all.
    doctors: { type: 'string', default: '120' },
    reads: { type: 'string', default: '50' },
    cold: { type: 'string', default: '10' },
    storage: { type: 'string', default: '' }, // '' = the app's choice, or opfs | idb
    // Milliseconds on the login page before the click, as a user typing (the page prepares the
    // database meanwhile); the first sync is still timed from the click.
    'login-pause': { type: 'string', default: '0' },
    // Toy sizes, nothing written to bench/results: CI runs this so the script cannot rot.
    smoke: { type: 'boolean', default: false },
  },
});
if (args.smoke) Object.assign(args, { doctors: '4', patients: '200', appointments: '500', reads: '4', cold: '2' });
const PASSWORD = 'bench-password-123';
const EMAIL = 'bench.reception@example.org';

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { n: s.length, p50: round(at(0.5)), p95: round(at(0.95)), min: round(s[0]!), max: round(s[s.length - 1]!) };
}
const round = (x: number) => Math.round(x * 100) / 100;

async function timedQueries(page: Page, queries: { sql: string; params: unknown[] }[]): Promise<number[]> {
  return page.evaluate(async (qs) => {
    const db = await (
      window as unknown as { __clinicDb: () => Promise<{ query: (s: string, p: unknown[]) => Promise<unknown> }> }
    ).__clinicDb();
    const out: number[] = [];
    for (const q of qs) {
      const t = performance.now();
      await db.query(q.sql, q.params);
      out.push(performance.now() - t);
    }
    return out;
  }, queries);
}

/**
 * One real UI action (a playwright click or keystroke) and the rendered measure it produced:
 * the screen marks the action and measures up to the painted frame that shows its rows
 * (src/lib/perf/rendered.ts); this reads the newest measure of that name from the page's
 * timeline once there is one more than before the action.
 */
async function renderedSample(page: Page, name: string, act: () => Promise<void>): Promise<number> {
  const before = await page.evaluate((n) => performance.getEntriesByName(n, 'measure').length, name);
  await act();
  const measured = await page.waitForFunction(
    ({ n, before }) => {
      const all = performance.getEntriesByName(n, 'measure');
      return all.length > before ? { ms: all[all.length - 1]!.duration } : null;
    },
    { n: name, before },
    { timeout: 60_000 },
  );
  return ((await measured.jsonValue()) as { ms: number }).ms;
}

/** The appointments list shows the rows and the total of its current filters and page. */
async function listSettled(page: Page) {
  await page.locator('[data-testid="appointments-table"][data-settled="true"]').waitFor({ timeout: 60_000 });
  await page.locator('[data-testid="page-of"][data-settled="true"]').waitFor({ timeout: 60_000 });
}

interface EngineReport {
  /** The first sync's steps, ms since the sync engine started. */
  firstSync: Record<string, number> | null;
  /** The worker's own timings of opening the database. */
  opened: Record<string, number> | null;
  /** The page's marks around opening the database (ms since the page's time origin). */
  marks: Record<string, number>;
}

/** What the sync engine reports of this session (its status broadcast) and the page's marks. */
async function engineReport(page: Page): Promise<EngineReport | null> {
  return page.evaluate(
    () =>
      new Promise<EngineReport | null>((resolve) => {
        const marks = Object.fromEntries(
          performance
            .getEntriesByType('mark')
            .filter((m) => m.name.startsWith('clinic:'))
            .map((m) => [m.name.slice('clinic:'.length), Math.round(m.startTime)]),
        );
        const user = JSON.parse(localStorage.getItem('clinic.user') ?? 'null') as { id: string } | null;
        if (!user) return resolve(null);
        const channel = new BroadcastChannel(`clinic-sync:clinic-${user.id}`);
        const timer = setTimeout(() => (channel.close(), resolve({ firstSync: null, opened: null, marks })), 5_000);
        channel.onmessage = (e: MessageEvent<{ type: string; status?: Omit<EngineReport, 'marks'> }>) => {
          if (e.data.type !== 'status') return;
          clearTimeout(timer);
          channel.close();
          resolve({ firstSync: e.data.status?.firstSync ?? null, opened: e.data.status?.opened ?? null, marks });
        };
        channel.postMessage({ type: 'status?' });
      }),
  );
}

/** How many rows a filter matches, and the row at its middle (the keyset cursor of a middle page). */
async function countAndMiddle(page: Page, filters: AppointmentFilters) {
  const q = countAppointmentsQuery(filters);
  const count = await page.evaluate(
    async ({ sql, params }) => {
      const db = await (
        window as unknown as {
          __clinicDb: () => Promise<{ query: (s: string, p: unknown[]) => Promise<{ rows: { n: number }[] }> }>;
        }
      ).__clinicDb();
      return Number(Object.values((await db.query(sql, params)).rows[0]!)[0]);
    },
    { sql: q.sql, params: q.params },
  );
  const half = Math.floor(count / 2 / 50) * 50; // a page boundary near the middle
  if (half < 50) return { count, midRow: null };
  const rows = await page.evaluate(
    async ({ sql, params }) => {
      const db = await (
        window as unknown as {
          __clinicDb: () => Promise<{ query: (s: string, p: unknown[]) => Promise<{ rows: unknown[] }> }>;
        }
      ).__clinicDb();
      return (await db.query(sql, params)).rows as { starts_at: string; id: string }[];
    },
    appointmentPageQuery(filters, { kind: 'first' }, half),
  );
  const last = rows.at(-1);
  return { count, midRow: last ? { starts_at: new Date(last.starts_at).toISOString(), id: last.id } : null };
}

async function launch(profile: string, offline = false): Promise<{ context: BrowserContext; page: Page }> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS],
    offline,
    viewport: { width: 1280, height: 860 },
  });
  return { context, page: context.pages()[0] ?? (await context.newPage()) };
}

async function main() {
  const atStart = machineAtStart();
  const bench = await startBrowserBenchServer('client');
  const { server, origin } = bench;
  const profile = await mkdtemp(path.join(os.tmpdir(), 'clinic-bench-profile-'));
  try {
    console.log('loading the clinic…');
    const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
    const clinic = generateClinic({
      doctors: +args.doctors,
      patients: +args.patients,
      appointments: +args.appointments,
      seed: 1,
      timeZone: 'UTC',
    });
    await withTransaction(pool, (tx) => loadClinic(tx, clinic));
    await pool.query(
      `INSERT INTO users (email, full_name, role, password_hash) VALUES ($1, 'Bench Reception', 'receptionist', $2)`,
      [EMAIL, await hashPassword(PASSWORD)],
    );
    await pool.end();

    let { context, page } = await launch(profile);
    if (args.storage) await page.addInitScript((s) => localStorage.setItem('clinic.storage', s), args.storage);
    const wire = { bytes: 0, requests: 0 };
    context.on('requestfinished', async (req) => {
      if (req.url().includes('/v1/shape')) return; // data, not the app
      const sizes = await req.sizes().catch(() => null);
      if (sizes) {
        wire.bytes += sizes.responseBodySize + sizes.responseHeadersSize;
        wire.requests++;
      }
    });

    // (a) first sync: from the login click to the replica complete.
    await page.goto(`${origin}/login`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.waitForTimeout(+args['login-pause']);
    const clickedAt = await page.evaluate(() => performance.now());
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Log in' }).click();
    // (page.waitForFunction does not await an async predicate: poll instead.)
    let replica: { done: boolean; a: number; p: number } | null = null;
    while (!replica?.done) {
      if (Date.now() - t0 > 600_000) throw new Error('first sync did not finish in 10 minutes');
      await new Promise((r) => setTimeout(r, 100));
      replica = await page
        .evaluate(async () => {
          const getDb = (
            window as unknown as {
              __clinicDb?: () => Promise<{ query: (s: string) => Promise<{ rows: unknown[] }> } | null>;
            }
          ).__clinicDb;
          const db = await getDb?.();
          if (!db) return null;
          const { rows } =
            await db.query(`SELECT EXISTS (SELECT 1 FROM local_meta WHERE key = 'initial_sync_done') AS done,
            (SELECT count(*)::int FROM appointments_synced) AS a, (SELECT count(*)::int FROM patients_synced) AS p`);
          return rows[0] as { done: boolean; a: number; p: number };
        })
        .catch(() => null);
    }
    const firstSyncMs = Date.now() - t0;
    const report = await engineReport(page);
    const firstSyncSteps = report && {
      // From the login click (page clock) ...
      dbOpenStartMs: report.marks['db-open'] !== undefined ? Math.round(report.marks['db-open'] - clickedAt) : null,
      dbReadyMs: report.marks['db-ready'] !== undefined ? Math.round(report.marks['db-ready'] - clickedAt) : null,
      // ... in the worker (its own clock) ...
      worker: report.opened,
      // ... and since the sync engine started (worker clock).
      engine: report.firstSync,
    };
    console.log(`first sync: ${firstSyncMs} ms`, replica, JSON.stringify(firstSyncSteps));
    await page.waitForTimeout(3_000); // let the service worker finish precaching
    const firstLoad = { ...wire };

    // (b) pages of 50 through the worker: first, middle and last pages, each under several
    // filters (none, a doctor, a status set, an urgency, a date range), drawn in turn so no
    // single query is simply repeated from a warm cache.
    const pick = (await page.evaluate(async () => {
      const db = await (
        window as unknown as { __clinicDb: () => Promise<{ query: (s: string) => Promise<{ rows: unknown[] }> }> }
      ).__clinicDb();
      return (
        await db.query(`SELECT (SELECT doctor_id FROM appointments_synced GROUP BY 1 ORDER BY count(*) DESC LIMIT 1) AS doctor,
          (SELECT min(starts_at) FROM appointments_synced) AS earliest, (SELECT max(starts_at) FROM appointments_synced) AS latest`)
      ).rows[0];
    })) as { doctor: string; earliest: string; latest: string };
    const span = new Date(pick.latest).getTime() - new Date(pick.earliest).getTime();
    const filterSets: Record<string, AppointmentFilters> = {
      all: {},
      doctor: { doctorId: pick.doctor },
      active: { statuses: ['scheduled', 'confirmed'] },
      urgent: { urgency: 'urgent' },
      month: {
        from: new Date(new Date(pick.earliest).getTime() + span / 3).toISOString(),
        to: new Date(new Date(pick.earliest).getTime() + span / 3 + 30 * 86_400_000).toISOString(),
      },
    };
    const reads = +args.reads;
    const queriesByPage: Record<'first' | 'middle' | 'last', { sql: string; params: unknown[] }[]> = {
      first: [],
      middle: [],
      last: [],
    };
    for (const filters of Object.values(filterSets)) {
      const { count, midRow } = await countAndMiddle(page, filters);
      if (count === 0) continue;
      queriesByPage.first.push(appointmentPageQuery(filters, { kind: 'first' }));
      if (midRow) queriesByPage.middle.push(appointmentPageQuery(filters, { kind: 'next', after: midRow }));
      queriesByPage.last.push(appointmentPageQuery(filters, { kind: 'last', total: count }));
    }
    const pages: Record<string, ReturnType<typeof stats>> = {};
    for (const [name, qs] of Object.entries(queriesByPage)) {
      await timedQueries(page, qs); // warm up: one of each
      pages[name] = stats(
        await timedQueries(
          page,
          Array.from({ length: reads }, (_, i) => qs[i % qs.length]!),
        ),
      );
    }
    console.log('pages', pages, 'filters', Object.keys(filterSets));

    // (c) patient search, one query per keystroke, over several names.
    const words = ['smith', 'garcia', 'mrn00012', '555-1', 'nov', 'kim', 'rodri', "o'b"];
    const keystrokes = words.flatMap((w) =>
      Array.from({ length: w.length }, (_, i) => searchPatientsQuery(w.slice(0, i + 1))),
    );
    await timedQueries(page, keystrokes.slice(0, 5));
    const search = stats(await timedQueries(page, [...keystrokes, ...keystrokes]));
    console.log('search', search);

    // (b, c) rendered, through the real screens: playwright clicks the pager, changes one
    // filter control at a time and types, and the screens' own measures are read back. Between
    // actions a short pause stands for the user (work an action leaves behind is not charged to
    // the next one).
    const pause = () => page.waitForTimeout(100);
    await page.getByRole('link', { name: 'Appointments', exact: true }).click();
    await listSettled(page);
    await page.locator('[data-testid="appointments-table"] tbody tr[data-id]').first().waitFor();
    const filtersForm = page.getByRole('form', { name: 'Filters' });
    const fromDay = new Date(new Date(pick.earliest).getTime() + span / 3).toISOString().slice(0, 10);
    // One control per step, so each step is one action; the cycle visits eight filter sets
    // (a doctor, doctor + active, active, active from a date, … , none).
    const filterSteps: (() => Promise<unknown>)[] = [
      () => filtersForm.getByLabel('Doctor').selectOption(pick.doctor),
      () => filtersForm.getByLabel('Status').selectOption('active'),
      () => filtersForm.getByLabel('Doctor').selectOption(''),
      () => filtersForm.getByLabel('From').fill(fromDay),
      () => filtersForm.getByLabel('Urgency').selectOption('urgent'),
      () => filtersForm.getByLabel('Status').selectOption(''),
      () => filtersForm.getByLabel('From').fill(''),
      () => filtersForm.getByLabel('Urgency').selectOption(''),
    ];
    const pageActions = {
      filter: [] as number[],
      first: [] as number[],
      next: [] as number[],
      previous: [] as number[],
      last: [] as number[],
    };
    const pagerButton = { first: '« First', next: 'Next ›', previous: '‹ Previous', last: 'Last »' } as const;
    // Rounds until every pager action has `reads` samples (a filter with one page offers none),
    // and at most four times as many.
    const enough = () => Object.values(pageActions).every((v) => v.length >= +args.reads);
    for (let i = 0; i < 4 * +args.reads && !enough(); i++) {
      await pause();
      pageActions.filter.push(
        await renderedSample(
          page,
          'appointments:filter',
          async () => void (await filterSteps[i % filterSteps.length]!()),
        ),
      );
      await listSettled(page);
      for (const action of ['next', 'last', 'previous', 'first'] as const) {
        const button = page.getByRole('button', { name: pagerButton[action] });
        if (!(await button.isEnabled())) continue;
        await pause();
        pageActions[action].push(await renderedSample(page, `appointments:${action}`, () => button.click()));
        await listSettled(page);
      }
    }
    const renderedPages = {
      // A first page: after a filter change or « First; a page from a keyset cursor (the
      // middle's read): Next › and ‹ Previous; the last page: Last ».
      first: stats([...pageActions.filter, ...pageActions.first]),
      middle: stats([...pageActions.next, ...pageActions.previous]),
      last: stats(pageActions.last),
    };
    const renderedPageActions = Object.fromEntries(
      Object.entries(pageActions).map(([k, v]) => [k, v.length ? stats(v) : null]),
    );
    console.log('rendered pages', renderedPages, 'by action', renderedPageActions);

    await page.getByRole('link', { name: 'Patients', exact: true }).click();
    const searchBox = page.getByTestId('patient-search');
    await page.locator('[data-testid="patients-table"][data-settled="true"]').waitFor({ timeout: 60_000 });
    await searchBox.click();
    const typed: number[] = [];
    for (let round = 0; round < 2; round++) {
      for (const w of words) {
        if (await searchBox.inputValue()) {
          await renderedSample(page, 'patients:search', () => searchBox.fill('')); // clearing is not a sample
        }
        for (const ch of w) {
          await page.waitForTimeout(60); // one key every ~60 ms plus the answer
          typed.push(await renderedSample(page, 'patients:search', () => page.keyboard.type(ch)));
        }
      }
    }
    const renderedSearch = stats(typed);
    console.log('rendered search', renderedSearch);

    // (d) cold start: browser restart, no network at all, to the schedule painted.
    await context.close();
    ({ context, page } = await launch(profile, true));
    const cold: number[] = [];
    const coldSteps: Record<string, number[]> = {};
    const coldRuns = +args.cold;
    for (let i = 0; i < coldRuns; i++) {
      await page.goto(`${origin}/schedule`);
      await page.getByTestId('grid-column-head').first().waitFor({ timeout: 60_000 });
      cold.push(await page.evaluate(() => performance.now()));
      const r = await engineReport(page);
      const nav = await page.evaluate(() => {
        const n = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming | undefined;
        return n ? { responseEnd: n.responseEnd, domContentLoaded: n.domContentLoadedEventEnd } : null;
      });
      const steps: Record<string, number | undefined> = {
        documentMs: nav?.responseEnd,
        domContentLoadedMs: nav?.domContentLoaded,
        dbOpenStartMs: r?.marks['db-open'],
        dbReadyMs: r?.marks['db-ready'],
        workerPgliteMs: r?.opened?.pgliteMs,
        workerMigrateMs: r?.opened?.migrateMs,
      };
      for (const [k, v] of Object.entries(steps)) if (v !== undefined) (coldSteps[k] ??= []).push(v);
      if (i < coldRuns - 1) {
        await context.close();
        ({ context, page } = await launch(profile, true));
      }
    }
    const coldStart = stats(cold);
    const coldStartSteps = Object.fromEntries(Object.entries(coldSteps).map(([k, v]) => [k, stats(v).p50]));
    console.log('cold start offline', coldStart, 'steps (p50, ms since navigation):', coldStartSteps);
    const storage = await page.evaluate(async () => {
      const db = await (
        window as unknown as {
          __clinicDb: () => Promise<{ query: (s: string) => Promise<{ rows: { size: number }[] }> }>;
        }
      ).__clinicDb();
      const { rows } = await db.query(`SELECT pg_database_size(current_database())::float8 AS size`);
      return { dbBytes: rows[0]!.size, estimate: await navigator.storage.estimate() };
    });
    await context.close();

    const result = {
      when: new Date().toISOString(),
      machine: { ...machineAtEnd(atStart), chromium: CHROMIUM },
      data: { doctors: +args.doctors, patients: +args.patients, appointments: +args.appointments, replica },
      storage: args.storage || 'app default (OPFS in Chromium)',
      firstSyncMs,
      loginPauseMs: +args['login-pause'],
      firstSyncSteps,
      pageOf50Ms: pages,
      searchPerKeystrokeMs: search,
      renderedPageOf50Ms: renderedPages,
      renderedPageActionsMs: renderedPageActions,
      renderedSearchPerKeystrokeMs: renderedSearch,
      coldStartOfflineMs: coldStart,
      coldStartStepsP50Ms: coldStartSteps,
      firstLoad: {
        bytesOverWire: firstLoad.bytes,
        megabytes: round(firstLoad.bytes / 1e6),
        requests: firstLoad.requests,
      },
      localDatabaseBytes: storage.dbBytes,
    };
    if (args.smoke) {
      console.log(JSON.stringify(result, null, 2));
      console.log('smoke run: nothing written');
      return;
    }
    await mkdir('bench/results', { recursive: true });
    const file = `bench/results/client-${result.when.replace(/[:.]/g, '-')}.json`;
    await writeFile(file, JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
    console.log(`written to ${file}`);
  } finally {
    await bench.stop();
    await rm(profile, { recursive: true, force: true, maxRetries: 5 }).catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
