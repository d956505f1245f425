// Every benchmark runs in CI at toy sizes (--smoke): no thresholds, no figures kept, only proof
// that the script still works against the current code, so none of them rots between runs.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const run = promisify(execFile);
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');

describe('benchmark smoke runs', () => {
  it('bench:booking --smoke: the API, its database floor (pgbench or the pg loop) and the reads with their plans', async () => {
    const { stdout } = await run(process.execPath, [TSX, 'bench/booking.ts', '--smoke'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn' },
      maxBuffer: 32 * 1024 * 1024,
      timeout: 240_000,
    });
    expect(stdout).toMatch(/uncontended_bookings_50_connections\s+100\s/);
    expect(stdout).toMatch(/floor_same_transaction_50_clients\s+100\s/);
    expect(stdout).toMatch(/contended_1000_on_one_slot\s+50\s.*"201":1[,}]/); // one winner on the contended slot
    for (const read of ['list_first_page', 'list_middle_page', 'list_last_page', 'doctor_day']) {
      expect(stdout).toMatch(new RegExp(`${read}\\s+20\\s.*"200":20`));
      expect(stdout).toContain(`EXPLAIN ${read}:`);
    }
  }, 300_000);

  it('bench:sync-routing --smoke: the routed loop converts fewer shapes per change into the same entries', async () => {
    const { stdout } = await run(process.execPath, [TSX, 'bench/sync-routing.ts', '--smoke'], {
      cwd: ROOT,
      timeout: 120_000,
    });
    expect(stdout).toContain('smoke run: nothing written');
    const { results } = JSON.parse(stdout.slice(0, stdout.lastIndexOf('}') + 1));
    expect(results.before_every_shape.conversions_per_change).toBe(results.shapes);
    expect(results.after_routed.conversions_per_change).toBeLessThan(results.shapes / 2);
    expect(results.after_routed.log_entries).toBe(results.before_every_shape.log_entries);
    expect(results.after_routed.log_entries).toBeGreaterThan(0);
  }, 150_000);
});
