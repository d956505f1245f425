// The browser benchmarks run in CI at toy sizes (--smoke): no thresholds, no figures kept,
// only proof that each script still drives the current app to the end.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

/** The result is the last JSON document printed, on lines of its own (progress lines before it may print objects too). */
const lastJson = (stdout: string) =>
  JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1, stdout.lastIndexOf('\n}') + 2));

const smoke = (script: string) =>
  run(process.execPath, [TSX, script, '--smoke'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    maxBuffer: 32 * 1024 * 1024,
    timeout: 300_000,
  });

describe('browser benchmark smoke runs', () => {
  it('bench:client --smoke: first sync, pages under several filters (query-only and rendered), search, cold starts', async () => {
    const { stdout } = await smoke('bench/client.ts');
    const result = lastJson(stdout);
    expect(result.data.replica).toMatchObject({ done: true, a: 500, p: 200 });
    for (const name of ['first', 'middle', 'last']) expect(result.pageOf50Ms[name]?.n).toBe(4);
    // Rendered in the real screens: every filter change paints a first page; Next, Last and
    // Previous only where the filter has more than one page. One sample per typed character
    // (two rounds over eight words).
    expect(result.renderedPageOf50Ms.first.n).toBeGreaterThanOrEqual(4);
    for (const name of ['middle', 'last']) expect(result.renderedPageOf50Ms[name].n).toBeGreaterThan(0);
    expect(result.renderedSearchPerKeystrokeMs.n).toBeGreaterThanOrEqual(20);
    // The first database came from the data directory shipped with the build, not from initdb.
    expect(result.firstSyncSteps.worker).toMatchObject({ createdFrom: 'shipped' });
    expect(result.firstSyncSteps.engine).toMatchObject({
      downloadedMs: expect.any(Number),
      appliedMs: expect.any(Number),
      indexedMs: expect.any(Number),
      analyzedMs: expect.any(Number),
    });
    expect(result.coldStartOfflineMs.n).toBe(2);
    expect(result.machine.commit).toBeTruthy();
    expect(stdout).toContain('smoke run: nothing written');
  }, 320_000);

  it('bench:offline-writes --smoke: taps offline, then every queued write confirmed once online', async () => {
    const { stdout } = await smoke('bench/offline-writes.ts');
    const result = lastJson(stdout);
    expect(result).toMatchObject({ writes: 3, queuedOffline: 3, confirmedOnServer: 3 });
    expect(result.onlineError).toBeUndefined();
    expect(result.tapToPaintMs.samples).toHaveLength(3);
    expect(result.machine.commit).toBeTruthy();
    expect(stdout).toContain('smoke run: nothing written');
  }, 320_000);
});
