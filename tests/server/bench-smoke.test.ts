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

  it('bench:sync --smoke: commit → live client, changes into live shapes, initial sync, a big transaction, fan-out and server memory', async () => {
    const { stdout } = await run(process.execPath, [TSX, 'bench/sync.ts', '--smoke'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: '', LOG_LEVEL: 'warn' },
      maxBuffer: 32 * 1024 * 1024,
      timeout: 240_000,
    });
    expect(stdout).toMatch(/write_to_live_client p50 \/ p95 \/ p99\s+[\d.]+ \/ [\d.]+ \/ [\d.]+ ms \(40 samples\)/);
    expect(stdout).toMatch(/changes_into_live_shapes \(5\)\s+\d+\/s \(500 in /);
    expect(stdout).toMatch(/initial_sync of a new shape\s+\d+ rows\/s \(500 in /);
    expect(stdout).toMatch(/transaction_100k \(500 rows\) to a live client\s+[\d.]+ s/);
    expect(stdout).toMatch(/fan_out \(20 clients\) p50 \/ p99 \/ max\s+[\d.]+ \/ [\d.]+ \/ [\d.]+ ms/);
    expect(stdout).toMatch(/server_rss with the fan-out clients\s+\d+ MB/);
    expect(stdout).not.toContain('written to'); // --smoke keeps no figures
  }, 300_000);
});
