// The browser benchmarks run in CI at toy sizes (--smoke): no thresholds, no figures kept,
// only proof that each script still drives the current app to the end.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

const smoke = (script: string) =>
  run(process.execPath, [TSX, script, '--smoke'], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn' },
    maxBuffer: 32 * 1024 * 1024,
    timeout: 300_000,
  });

describe('browser benchmark smoke runs', () => {
  it('bench:client --smoke: first sync, pages under several filters, search, cold starts', async () => {
    const { stdout } = await smoke('bench/client.ts');
    // The result is the last JSON document printed, starting on a line of its own (progress
    // lines before it may print objects too).
    const result = JSON.parse(stdout.slice(stdout.lastIndexOf('\n{\n') + 1, stdout.lastIndexOf('\n}') + 2));
    expect(result.data.replica).toMatchObject({ done: true, a: 500, p: 200 });
    for (const name of ['first', 'middle', 'last']) expect(result.pageOf50Ms[name]?.n).toBe(4);
    expect(result.coldStartOfflineMs.n).toBe(2);
    expect(result.machine.commit).toBeTruthy();
    expect(stdout).toContain('smoke run: nothing written');
  }, 320_000);
});
