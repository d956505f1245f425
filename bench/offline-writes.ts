// npm run bench:offline-writes — offline writes in headless Chromium against the real server:
// (a) tap to optimistic row painted: "Confirm" tapped offline on 100 appointment pages, time
// from the click to the "pending" state painted (next animation frame); (b) back online, the
// time until all 100 queued writes are confirmed in the replica (outbox empty). Writes
// bench/results/offline-writes-*.json. Options: --taps N, --settle, --paint-only, --http1 (below).
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { hashPassword } from '../server/auth/passwords.js';
import { withTransaction } from '../server/db/transaction.js';
import { startBrowserBenchServer } from './browser-bench-server.js';
import { machineAtEnd, machineAtStart } from './machine.js';
import { generateClinic } from '../server/seed/generate.js';
import { loadClinic } from '../server/seed/load.js';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.js';

// `--taps N` (default 100) for a quicker run on a busy machine.
const tapsArg = process.argv.indexOf('--taps');
// `--smoke`: 3 taps, nothing written to bench/results (CI runs it so the script cannot rot).
const SMOKE = process.argv.includes('--smoke');
const WRITES = tapsArg > 0 ? Number(process.argv[tapsArg + 1]) : SMOKE ? 3 : 100;
// `--settle`: before each tap, wait until the database has answered the queries the page
// started when it opened (one probe query queues behind them), as a user reading the page
// would. Without it the tap comes as soon as the row is shown and competes with them.
const SETTLE = process.argv.includes('--settle');
// `--paint-only`: skip the online part (quick before/after comparisons of tap to paint).
const PAINT_ONLY = process.argv.includes('--paint-only');
// The server speaks HTTPS with HTTP/2, as tablets reach it (a PWA needs a secure origin away
// from localhost, README "Use it from tablets"). `--http1`: plain HTTP/1.1, as a browser on the
// server machine itself (http://localhost) or behind a proxy that speaks only HTTP/1.1, where
// the browser opens at most six connections to the host for the sync long-polls and the outbox.
const HTTP1 = process.argv.includes('--http1');
if (!Number.isInteger(WRITES) || WRITES < 1 || WRITES > 1000) {
  console.error('--taps takes a whole number from 1 to 1000');
  process.exit(2);
}
const PASSWORD = 'bench-password-123';
const EMAIL = 'bench.reception@example.org';

const percentile = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const round = (x: number) => Math.round(x * 10) / 10;

async function localCount(page: Page, sql: string): Promise<number> {
  return page.evaluate(async (s) => {
    const db = await (
      window as unknown as { __clinicDb: () => Promise<{ query: (q: string) => Promise<{ rows: { n: number }[] }> }> }
    ).__clinicDb();
    return (await db.query(s)).rows[0]!.n;
  }, sql);
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Client-side navigation (no reload), then one tap on "Confirm": ms until "pending" is painted. */
async function tapConfirm(page: Page, id: string): Promise<{ painted: number; write: number | null }> {
  await page.evaluate((href) => {
    const a = document.createElement('a');
    a.href = href;
    document.body.append(a);
    a.click();
    a.remove();
  }, `/appointments/${id}`);
  const actions = `[data-testid=appointment-actions][data-id="${id}"][data-status=scheduled]`;
  await page.locator(actions).waitFor({ timeout: 30_000 });
  if (SETTLE) await localCount(page, 'SELECT 1 AS n');
  // Painted = the optimistic row re-rendered with its new status (the live query answered).
  // A string, not a function: tsx would wrap named inner functions in a helper the page lacks.
  const painted = await page.evaluate<number>(`new Promise((resolve, reject) => {
    setTimeout(() => reject(new Error('not painted: ' + document.querySelector('main')?.innerText)), 10000);
    const box = document.querySelector('${actions}');
    const button = [...box.querySelectorAll('button')].find((b) => b.textContent.trim() === 'Confirm');
    const t0 = performance.now();
    const observer = new MutationObserver(() => {
      if (!document.querySelector('[data-testid=appointment-actions][data-id="${id}"][data-status=confirmed]')) return;
      observer.disconnect();
      requestAnimationFrame(() => resolve(performance.now() - t0));
    });
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    button.click();
  })`);
  // The local write's share (src/lib/outbox/device.ts measures it); the rest is the live
  // query's re-run and the frame.
  const write = await page.evaluate<number | null>(
    `performance.getEntriesByName('outbox.write').at(-1)?.duration ?? null`,
  );
  return { painted, write };
}

/** Online: ms until every queued write is confirmed in the replica (outbox empty). */
interface ReplayRequest {
  url: string;
  method: string;
  sentAt: number;
  answeredAt: number | null;
  status: number | null;
  /** ms the browser held the request before it went out (a free connection), then the server's time to answer */
  queuedMs?: number;
  serverMs?: number;
}

async function goOnlineAndConfirm(page: Page, context: BrowserContext, databaseUrl: string, ids: string[]) {
  let t0 = Date.now();
  // Where the replay's time goes: every outbox request (sent → answered), the shape requests
  // in flight meanwhile, and the outbox's states every 250 ms (accepted entries waiting for sync).
  const requests: ReplayRequest[] = [];
  const pending = new Map<unknown, (typeof requests)[number]>();
  const onRequest = (req: import('playwright-core').Request) => {
    if (!/\/api\/|\/v1\/shape/.test(req.url())) return;
    const r = { url: req.url(), method: req.method(), sentAt: Date.now() - t0, answeredAt: null, status: null };
    requests.push(r);
    pending.set(req, r);
  };
  const onDone = (req: import('playwright-core').Request) => {
    const r = pending.get(req);
    if (!r) return;
    r.answeredAt = Date.now() - t0;
    const timing = req.timing();
    if (timing.requestStart >= 0 && timing.responseStart >= 0) {
      r.queuedMs = timing.requestStart;
      r.serverMs = timing.responseStart - timing.requestStart;
    }
    void req.response().then(
      (res) => (r.status = res?.status() ?? null),
      () => undefined,
    );
  };
  page.on('request', onRequest);
  page.on('requestfinished', onDone);
  page.on('requestfailed', onDone);
  const states: { at: number; counts: Record<string, number> }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const rows = (await page
        .evaluate(
          `window.__clinicDb().then((db) => db.query(
          "SELECT state, count(*)::int AS n FROM outbox GROUP BY 1")).then((r) => r.rows)`,
        )
        .catch(() => [])) as { state: string; n: number }[];
      states.push({ at: Date.now() - t0, counts: Object.fromEntries(rows.map((r) => [r.state, r.n])) });
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  t0 = Date.now();
  await context.setOffline(false);
  await until(async () => (await localCount(page, `SELECT count(*)::int AS n FROM outbox`)) === 0, 300_000).catch(
    async (err: unknown) => {
      const left = await page.evaluate(`window.__clinicDb().then((db) => db.query(
        "SELECT state, attempts, last_error, count(*)::int AS n FROM outbox GROUP BY 1, 2, 3")).then((r) => r.rows)`);
      const header = await page.evaluate(`document.querySelector('header')?.innerText`);
      const synced = await localCount(
        page,
        `SELECT count(*)::int AS n FROM appointments_synced WHERE id = ANY('{${ids.join(',')}}'::uuid[]) AND status = 'confirmed'`,
      );
      throw new Error(`outbox not empty after 300 s: ${JSON.stringify({ left, header, confirmedInReplica: synced })}`, {
        cause: err,
      });
    },
  );
  const confirmAllMs = Date.now() - t0;
  sampling = false;
  await sampler;
  page.off('request', onRequest);
  page.off('requestfinished', onDone);
  page.off('requestfailed', onDone);
  const check = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const confirmedOnServer: number = (
    await check.query(
      `SELECT count(*)::int AS n FROM appointments WHERE id = ANY($1::uuid[]) AND status = 'confirmed'`,
      [ids],
    )
  ).rows[0].n;
  await check.end();
  return { confirmAllMs, confirmedOnServer, replay: replayProfile(requests, states) };
}

/** Summary of the replay: how the outbox requests were spaced and how long each took. */
function replayProfile(requests: ReplayRequest[], states: { at: number; counts: Record<string, number> }[]) {
  const writes = requests.filter((r) => r.url.includes('/api/appointments') && r.method !== 'GET');
  const answered = writes.filter((r) => r.answeredAt !== null);
  const latency = answered.map((r) => r.answeredAt! - r.sentAt);
  // Gap = from one answer to the next request: the sender's local work between two entries.
  const gaps = answered.slice(1).map((r, i) => r.sentAt - answered[i]!.answeredAt!);
  const stat = (xs: number[]) =>
    xs.length
      ? {
          n: xs.length,
          p50: round(percentile(xs, 50)),
          p95: round(percentile(xs, 95)),
          max: round(Math.max(...xs)),
          sum: round(xs.reduce((a, b) => a + b, 0)),
        }
      : null;
  const lastAnswer = Math.max(0, ...answered.map((r) => r.answeredAt!));
  return {
    firstWriteSentMs: writes[0]?.sentAt ?? null,
    lastWriteAnsweredMs: lastAnswer,
    writeRequests: writes.length,
    statuses: Object.fromEntries(
      [...new Set(writes.map((r) => r.status))].map((s) => [String(s), writes.filter((r) => r.status === s).length]),
    ),
    maxInFlight: Math.max(
      0,
      ...writes.map((r) => writes.filter((o) => o.sentAt <= r.sentAt && (o.answeredAt ?? Infinity) > r.sentAt).length),
    ),
    latencyMs: stat(latency),
    browserQueuedMs: stat(answered.flatMap((r) => (r.queuedMs === undefined ? [] : [r.queuedMs]))),
    serverAnswerMs: stat(answered.flatMap((r) => (r.serverMs === undefined ? [] : [r.serverMs]))),
    gapBetweenWritesMs: stat(gaps),
    shapeRequests: requests.filter((r) => r.url.includes('/v1/shape')).length,
    // The appointments shape's requests (sent, answered, live): the rows that confirm the
    // accepted writes come back through them.
    appointmentsShape: requests
      .filter((r) => r.url.includes('/v1/shape') && /[?&]table=appointments(&|$)/.test(r.url))
      .map((r) => ({ sentAt: r.sentAt, answeredAt: r.answeredAt, live: /[?&]live=true/.test(r.url) })),
    otherApiRequests: requests.filter((r) => r.url.includes('/api/') && !writes.includes(r)).length,
    outboxStates: states.filter((_, i) => i % 4 === 0),
  };
}

async function main() {
  const atStart = machineAtStart();
  const bench = await startBrowserBenchServer('writes', { tls: !HTTP1 });
  const { server, origin } = bench;
  const profile = await mkdtemp(path.join(os.tmpdir(), 'clinic-bench-profile-'));
  try {
    const pool = new pg.Pool({ connectionString: server.databaseUrl, max: 1 });
    const clinic = generateClinic({
      doctors: SMOKE ? 3 : 10,
      patients: SMOKE ? 100 : 2_000,
      appointments: SMOKE ? 100 : 3_000,
      seed: 1,
      timeZone: 'UTC',
    });
    await withTransaction(pool, (tx) => loadClinic(tx, clinic));
    await pool.query(
      `INSERT INTO users (email, full_name, role, password_hash) VALUES ($1, 'Bench Reception', 'receptionist', $2)`,
      [EMAIL, await hashPassword(PASSWORD)],
    );
    // The scheduled appointments to confirm: 15-minute evening slots tomorrow (after the generated
    // clinic's hours, so nothing overlaps), one per patient, spread over every doctor (the smoke
    // clinic has fewer doctors than the full one).
    const ids = Array.from({ length: WRITES }, () => randomUUID());
    await pool.query(
      `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status, urgency, created_at, updated_at)
       SELECT ids.id, p.id, d.id, ts, ts + interval '15 minutes', 15, 'scheduled', 'routine', now(), now()
         FROM unnest($1::uuid[]) WITH ORDINALITY AS ids(id, n)
         JOIN LATERAL (SELECT id FROM patients ORDER BY id OFFSET ids.n LIMIT 1) p ON true
         CROSS JOIN (SELECT count(*)::int AS n FROM doctors) nd
         JOIN LATERAL (SELECT id FROM doctors ORDER BY id OFFSET (ids.n % nd.n) LIMIT 1) d ON true
         CROSS JOIN LATERAL (SELECT (date_trunc('day', now()) + interval '1 day' + (ids.n / nd.n) * interval '15 minutes' + interval '21 hours') AS ts) t`,
      [ids],
    );
    await pool.end();

    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...bench.chromiumArgs],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`${origin}/login`);
    await page.getByLabel('Email').fill(EMAIL);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/schedule/);
    const protocol = await page.evaluate<string>(
      `performance.getEntriesByType('navigation')[0]?.nextHopProtocol ?? 'unknown'`,
    );
    console.log('logged in; waiting for the first sync…');
    await until(
      async () =>
        (await localCount(
          page,
          `SELECT count(*)::int AS n FROM appointments_synced WHERE id = ANY('{${ids.join(',')}}'::uuid[])`,
        ).catch(() => 0)) === WRITES,
      300_000,
    );

    console.log(`replica has the ${WRITES} appointments; offline taps…`);
    await context.setOffline(true);
    const taps: number[] = [];
    const writes: number[] = [];
    const afterWrite: number[] = [];
    for (const id of ids) {
      const { painted, write } = await tapConfirm(page, id);
      taps.push(painted);
      if (write === null) continue;
      writes.push(write);
      afterWrite.push(painted - write);
    }
    const queued = await localCount(page, `SELECT count(*)::int AS n FROM outbox`);

    console.log(
      `queued ${queued}; tap to paint p50 ${round(percentile(taps, 50))} ms, p95 ${round(percentile(taps, 95))} ms`,
    );
    // A failed online part is recorded with the result, not lost with the tap figures.
    const online = PAINT_ONLY
      ? null
      : await goOnlineAndConfirm(page, context, server.databaseUrl, ids).catch((err: Error) => {
          console.error(err.message);
          return { confirmAllMs: null, confirmedOnServer: null, error: err.message };
        });
    await context.close();

    const result = {
      when: new Date().toISOString(),
      machine: { ...machineAtEnd(atStart), chromium: CHROMIUM },
      writes: WRITES,
      settle: SETTLE,
      // what the page was served over: 'h2' (HTTPS) or 'http/1.1' (--http1)
      protocol,
      queuedOffline: queued,
      tapToPaintMs: {
        p50: round(percentile(taps, 50)),
        p95: round(percentile(taps, 95)),
        max: round(Math.max(...taps)),
        samples: taps.map(round),
      },
      // Of which the local write (rules, the one statement, the flush), as measured in the page.
      localWriteMs: writes.length
        ? { p50: round(percentile(writes, 50)), p95: round(percentile(writes, 95)), max: round(Math.max(...writes)) }
        : null,
      // ... and from "saved" to the row painted (live query re-run, render, next frame).
      writeToPaintMs: afterWrite.length
        ? {
            p50: round(percentile(afterWrite, 50)),
            p95: round(percentile(afterWrite, 95)),
            max: round(Math.max(...afterWrite)),
          }
        : null,
      onlineToAllConfirmedMs: online?.confirmAllMs ?? null,
      replay: online && 'replay' in online ? online.replay : null,
      confirmedOnServer: online?.confirmedOnServer ?? null,
      ...(online && 'error' in online ? { onlineError: online.error } : {}),
    };
    if (SMOKE) {
      console.log(JSON.stringify(result, null, 2));
      console.log('smoke run: nothing written');
      return;
    }
    await mkdir('bench/results', { recursive: true });
    const file = `bench/results/offline-writes-${result.when.replace(/[:.]/g, '-')}.json`;
    await writeFile(file, JSON.stringify(result, null, 2) + '\n');
    console.log(JSON.stringify(result, null, 2));
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
