// npm run preflight against a real database: each item of the checklist found passing or
// failing for the right reason, with a fix for every ✗, and exit code 1 on any ✗.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { formatResults, runPreflight, type CheckResult } from '../../server/preflight/checks.js';
import { createTestDatabase, type TestDatabase } from '../setup/database.js';
import { createFixture } from '../setup/fixtures.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let db: TestDatabase;
let backupDir: string;
const slot = `preflight_${randomUUID().replaceAll('-', '').slice(0, 12)}`;

beforeAll(async () => {
  db = await createTestDatabase();
  const fx = await createFixture(db.pool, { patients: 50 });
  // Enough appointments for the planner's choice of index to mean something.
  await db.pool.query(
    `INSERT INTO appointments (id, patient_id, doctor_id, starts_at, ends_at, duration_minutes, status)
     SELECT gen_random_uuid(), p[1 + i % 50], CASE WHEN i % 2 = 0 THEN $2::uuid ELSE $3::uuid END,
            timestamptz '2028-01-03 08:00Z' + (i / 2) * interval '30 minutes',
            timestamptz '2028-01-03 08:30Z' + (i / 2) * interval '30 minutes', 30, 'completed'
       FROM generate_series(0, 9999) i, (SELECT $1::uuid[] AS p) ps`,
    [fx.patients, fx.doctorA, fx.doctorB],
  );
  await db.pool.query('ANALYZE');
  backupDir = await mkdtemp(path.join(os.tmpdir(), 'clinic-preflight-'));
});
afterAll(async () => {
  await db?.pool.query('SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  await db?.drop();
  await rm(backupDir, { recursive: true, force: true });
});

const byName = (results: CheckResult[], start: string) => {
  const found = results.find((r) => r.name.startsWith(start));
  if (!found) throw new Error(`no check named ${start}…`);
  return found;
};

function productionConfig(extra: Record<string, string> = {}) {
  return loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: db.url,
    PUBLIC_ORIGIN: 'https://clinic.example',
    METRICS_TOKEN: 'a-long-enough-metrics-token',
    SYNC_SLOT_NAME: slot,
    BACKUP_DIR: backupDir,
    ...extra,
  });
}

describe('preflight checks', () => {
  it('pass on a production configuration of a healthy database, apart from what is missing', async () => {
    await db.pool.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    await mkdir(path.join(backupDir, 'base', 'b1'), { recursive: true });
    const now = new Date().toISOString();
    await writeFile(
      path.join(backupDir, 'base', 'b1', 'backup.json'),
      JSON.stringify({ name: 'b1', started_at: now, finished_at: now, complete: true }),
    );
    const results = await runPreflight(productionConfig(), db.pool, db.url, new Set(['sentry']));
    const failed = results.filter((r) => r.status === 'fail').map((r) => r.name);
    // The test PostgreSQL does not archive WAL: the one real gap of this installation.
    expect(failed).toEqual(['backups configured (BACKUP_DIR, WAL archiving)']);
    expect(byName(results, 'SENTRY_DSN').status).toBe('waived');
    for (const name of [
      'NODE_ENV',
      'PUBLIC_ORIGIN',
      'METRICS_TOKEN',
      'no demo users',
      'migrations applied',
      'indexes present',
      'the schedule and patient lists',
      'wal_level',
      'max_slot_wal_keep_size',
      'replication slot',
      'latest backup',
      'rate limits',
      'CORS',
    ]) {
      expect(byName(results, name).status, name).toBe('pass');
    }
    for (const r of results.filter((r) => r.status === 'fail')) expect(r.fix).toBeTruthy();
  });

  it('fail, with a fix, for demo users, an edited migration, an invalid index and unsafe settings', async () => {
    await db.pool.query(
      `INSERT INTO users (email, full_name, role, password_hash) VALUES ('admin@demo.clinic', 'Ada Admin', 'admin', 'x')
       ON CONFLICT DO NOTHING`,
    );
    await db.pool.query(`UPDATE schema_migrations SET checksum = 'edited' WHERE name = '0002_clinic.sql'`);
    // A unique index built CONCURRENTLY over duplicates fails and stays behind, invalid.
    await db.pool.query('CREATE TABLE preflight_dupes (x int); INSERT INTO preflight_dupes VALUES (1), (1)');
    await db.pool.query('CREATE UNIQUE INDEX CONCURRENTLY preflight_dupes_x ON preflight_dupes (x)').catch(() => {});
    const results = await runPreflight(
      productionConfig({
        NODE_ENV: 'development',
        PUBLIC_ORIGIN: 'http://localhost:3000',
        METRICS_TOKEN: '',
        CORS_ORIGINS: 'http://kiosk.example',
        RATE_LIMIT_ANON_PER_HOUR: '100000',
        BACKUP_DIR: '',
      }),
      db.pool,
      db.url,
    );
    const failures = Object.fromEntries(
      results.filter((r) => r.status === 'fail').map((r) => [r.name.split(' ').slice(0, 2).join(' '), r]),
    );
    expect(Object.keys(failures).sort()).toEqual(
      [
        'NODE_ENV is',
        'PUBLIC_ORIGIN is',
        'SENTRY_DSN set',
        'METRICS_TOKEN set',
        'no demo',
        'migrations applied',
        'indexes present',
        'backups configured',
        'latest backup',
        'rate limits',
        'CORS_ORIGINS are',
      ].sort(),
    );
    expect(failures['no demo']!.detail).toContain('admin@demo.clinic');
    expect(failures['migrations applied']!.detail).toContain('0002_clinic.sql');
    expect(failures['indexes present']!.detail).toContain('preflight_dupes_x');
    expect(failures['indexes present']!.fix).toContain('REINDEX');
    expect(failures['rate limits']!.detail).toContain('anonPerHour');
    expect(failures['CORS_ORIGINS are']!.detail).toBe('http://kiosk.example');
    const text = formatResults(results);
    expect(text).toMatch(/^✗ NODE_ENV is production: NODE_ENV=development\n {4}fix: set NODE_ENV=production/m);
    expect(text).toMatch(/^✓ wal_level = logical$/m);
  });

  it('npm run preflight prints the checklist and exits 1 on any ✗', async () => {
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'server/cli/preflight.ts', '--waive', 'sentry'],
      {
        cwd: ROOT,
        env: { ...process.env, DATABASE_URL: db.url, NODE_ENV: 'development', LOG_LEVEL: 'silent' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(1);
    expect(out).toContain('✗ NODE_ENV is production');
    expect(out).toContain('fix: set NODE_ENV=production');
    expect(out).toContain('✓ wal_level = logical');
    expect(out).toMatch(/– SENTRY_DSN set.*\(waived\)/);
  });
});
