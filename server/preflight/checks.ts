// The production preflight: every item of the deploy checklist (docs/operations.md) that the
// software can check by itself, each with the fix to apply when it fails. Read-only: it
// changes nothing in the database or on disk.
import type { Config } from '../config.js';
import { countSql, pageSql } from '../appointments/queries.js';
import { latestBackup } from '../backup/catalog.js';
import { migrationStatus } from '../db/migrate.js';
import type { Pool } from '../db/pool.js';
import { readReplicationState } from '../observability/replication.js';

export type Waiver = 'sentry' | 'metrics' | 'backups';
export const WAIVERS: readonly Waiver[] = ['sentry', 'metrics', 'backups'];

export interface CheckResult {
  name: string;
  status: 'pass' | 'fail' | 'waived' | 'skipped';
  /** What was found (shown after the name). */
  detail?: string;
  /** What to change, for a failure. */
  fix?: string;
}

/** The old system's five partial indexes on live appointments (migrations/0006). */
export const PARTIAL_INDEXES = [
  'appointments_doctor_starts_idx',
  'appointments_patient_status_idx',
  'appointments_status_created_idx',
  'appointments_urgency_starts_idx',
  'appointments_active_id_idx',
] as const;

const DEFAULT_CAPS = {
  anonPerHour: 100,
  userPerHour: 1000,
  writesPerHour: 1000,
  syncPerHour: 20_000,
  loginFailures: 10,
} as const;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

const pass = (name: string, detail?: string): CheckResult => ({ name, status: 'pass', detail });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });

function configChecks(config: Config, waived: ReadonlySet<Waiver>): CheckResult[] {
  const results: CheckResult[] = [];
  results.push(
    config.isProduction
      ? pass('NODE_ENV is production')
      : fail(
          'NODE_ENV is production',
          `NODE_ENV=${config.nodeEnv}`,
          'set NODE_ENV=production (no demo seed, no loopback origins, no SYNC_INSECURE)',
        ),
  );
  const origin = new URL(config.publicOrigin);
  results.push(
    origin.protocol === 'https:' && !LOOPBACK.has(origin.hostname)
      ? pass('PUBLIC_ORIGIN is https: cookies Secure, HSTS on', config.publicOrigin)
      : fail(
          'PUBLIC_ORIGIN is https: cookies Secure, HSTS on',
          `PUBLIC_ORIGIN=${config.publicOrigin}`,
          'set PUBLIC_ORIGIN=https://<the name tablets use>, served by TLS_CERT/TLS_KEY or a TLS proxy (README "Use it from tablets")',
        ),
  );
  for (const [key, name, isSet, fix] of [
    ['sentry', 'SENTRY_DSN set (error tracking)', Boolean(config.sentryDsn), 'set SENTRY_DSN=https://…@…/<project>'],
    [
      'metrics',
      'METRICS_TOKEN set (Prometheus scrapes /metrics)',
      Boolean(config.metricsToken),
      'set METRICS_TOKEN to 16+ random characters: openssl rand -hex 24',
    ],
  ] as const) {
    if (isSet) results.push(pass(name));
    else if (waived.has(key)) results.push({ name, status: 'waived', detail: `--waive ${key}` });
    else results.push(fail(name, 'not set', `${fix} (or run preflight with --waive ${key})`));
  }
  const caps = config.rateLimits;
  const raised = (Object.keys(DEFAULT_CAPS) as (keyof typeof DEFAULT_CAPS)[]).filter(
    (k) => caps[k] > DEFAULT_CAPS[k] * 10,
  );
  const capsText = `anon ${caps.anonPerHour}/h, user ${caps.userPerHour}/h, writes ${caps.writesPerHour}/h, sync ${caps.syncPerHour}/h, login failures ${caps.loginFailures}, store ${caps.store}`;
  results.push(
    raised.length
      ? fail(
          'rate limits as intended',
          `${capsText}; over 10× the default: ${raised.join(', ')}`,
          'remove the RATE_LIMIT_* overrides left from a load test (README, Configuration)',
        )
      : pass('rate limits as intended', capsText),
  );
  const insecureCors = config.corsOrigins.filter((o) => !o.startsWith('https:'));
  results.push(
    insecureCors.length
      ? fail(
          'CORS_ORIGINS are https only',
          insecureCors.join(', '),
          'list only https origins in CORS_ORIGINS (or leave it empty: the app itself needs none)',
        )
      : pass('CORS_ORIGINS are https only', config.corsOrigins.length ? config.corsOrigins.join(', ') : 'none'),
  );
  return results;
}

async function databaseChecks(config: Config, pool: Pool, databaseUrl: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const demo = await pool.query<{ email: string }>(
    `SELECT email FROM users WHERE active AND lower(email) LIKE '%@demo.clinic' ORDER BY email`,
  );
  results.push(
    demo.rowCount
      ? fail(
          'no demo users active',
          `${demo.rowCount} active: ${demo.rows
            .slice(0, 3)
            .map((r) => r.email)
            .join(', ')}${demo.rowCount! > 3 ? ', …' : ''}`,
          'deactivate them (Admin → Users), after creating real accounts with npm run user:create; a database seeded with the demo clinic is best started afresh',
        )
      : pass('no demo users active'),
  );

  const migrations = await migrationStatus(databaseUrl);
  results.push(
    migrations.edited.length
      ? fail(
          'migrations applied and unchanged',
          `edited after they ran: ${migrations.edited.join(', ')}`,
          'restore them from version control (git checkout -- migrations/); changes go into new migrations',
        )
      : migrations.pending.length
        ? fail('migrations applied and unchanged', `pending: ${migrations.pending.join(', ')}`, 'npm run migrate')
        : pass(
            'migrations applied and unchanged',
            `${migrations.unknown.length ? 'not in this checkout: ' + migrations.unknown.join(', ') : 'all'}`,
          ),
  );

  const indexes = await pool.query<{ name: string; valid: boolean }>(
    `SELECT c.relname AS name, i.indisvalid AND i.indisready AS valid
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = current_schema()`,
  );
  const invalid = indexes.rows.filter((r) => !r.valid).map((r) => r.name);
  const present = new Set(indexes.rows.map((r) => r.name));
  const missing = PARTIAL_INDEXES.filter((n) => !present.has(n));
  results.push(
    invalid.length || missing.length
      ? fail(
          'indexes present and valid',
          [
            invalid.length ? `invalid: ${invalid.join(', ')}` : '',
            missing.length ? `missing: ${missing.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join('; '),
          `an interrupted CREATE INDEX CONCURRENTLY leaves an invalid index: REINDEX INDEX CONCURRENTLY <name>; a missing one: npm run migrate`,
        )
      : pass('indexes present and valid', `${indexes.rowCount} indexes, the five partial ones among them`),
  );

  results.push(await indexUseCheck(pool));

  const settings = await pool.query<{ wal_level: string; keep: string; archive_mode: string; archive_command: string }>(
    `SELECT current_setting('wal_level') AS wal_level, current_setting('max_slot_wal_keep_size') AS keep,
            current_setting('archive_mode') AS archive_mode, current_setting('archive_command') AS archive_command`,
  );
  const s = settings.rows[0]!;
  results.push(
    s.wal_level === 'logical'
      ? pass('wal_level = logical')
      : fail(
          'wal_level = logical',
          `wal_level = ${s.wal_level}`,
          'ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL',
        ),
  );
  results.push(
    s.keep !== '-1'
      ? pass('max_slot_wal_keep_size is bounded', s.keep)
      : fail(
          'max_slot_wal_keep_size is bounded',
          'unlimited: a stopped sync service keeps WAL until the disk is full',
          "ALTER SYSTEM SET max_slot_wal_keep_size = '2GB'; SELECT pg_reload_conf();",
        ),
  );
  if (config.syncUpstreamUrl) {
    results.push(
      pass('replication slot healthy', `served by the sync service at ${new URL(config.syncUpstreamUrl).origin}`),
    );
  } else {
    const slot = await readReplicationState(pool, config.syncSlotName);
    results.push(
      !slot.exists
        ? fail(
            'replication slot healthy',
            `slot ${config.syncSlotName} does not exist`,
            'start the server once (it creates the slot), or check SYNC_SLOT_NAME',
          )
        : slot.wal_status === 'lost' || slot.wal_status === 'unreserved'
          ? fail(
              'replication slot healthy',
              `slot ${config.syncSlotName}: wal_status ${slot.wal_status}`,
              'restart the server: it recreates a lost slot and devices refetch (docs/sync.md, "WAL retention guard")',
            )
          : pass(
              'replication slot healthy',
              `${config.syncSlotName}: ${slot.active ? 'consumer attached' : 'no consumer attached now'}, wal_status ${slot.wal_status}, lag ${slot.lag_bytes ?? 0} bytes`,
            ),
    );
  }
  results.push(...backupChecks(config, s.archive_mode, s.archive_command));
  return results;
}

/**
 * The list queries reach for their partial indexes (EXPLAIN, with real ids from the table).
 * On a nearly empty table any plan is right, so it is judged only from MIN_ROWS rows on.
 */
const MIN_ROWS = 1000;
async function indexUseCheck(pool: Pool): Promise<CheckResult> {
  const name = 'the schedule and patient lists use their indexes (EXPLAIN)';
  const size = await pool.query<{ n: number }>(
    `SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE oid = 'appointments'::regclass`,
  );
  const rows = Number(size.rows[0]?.n ?? 0);
  const sample = await pool.query<{ doctor_id: string; patient_id: string; starts_at: Date }>(
    `SELECT doctor_id, patient_id, starts_at FROM appointments WHERE deleted_at IS NULL ORDER BY starts_at DESC LIMIT 1`,
  );
  const row = sample.rows[0];
  if (rows < MIN_ROWS || !row) {
    return { name, status: 'skipped', detail: `about ${rows} appointments: judged from ${MIN_ROWS} on (run ANALYZE)` };
  }
  const day = new Date(row.starts_at);
  day.setUTCHours(0, 0, 0, 0);
  const viewer = { doctorId: null, seesNotes: true };
  // Each list runs two statements, its count and its page; the index must serve one of them.
  const dayFilters = {
    doctor_id: row.doctor_id,
    from: day.toISOString(),
    to: new Date(day.getTime() + 86_400_000).toISOString(),
  };
  const patientFilters = { patient_id: row.patient_id, status: ['scheduled' as const, 'completed' as const] };
  const probes: Array<[string, Array<ReturnType<typeof pageSql>>]> = [
    ['appointments_doctor_starts_idx', [countSql(viewer, dayFilters), pageSql(viewer, dayFilters, 50, 0)]],
    ['appointments_patient_status_idx', [countSql(viewer, patientFilters), pageSql(viewer, patientFilters, 50, 0)]],
  ];
  const client = await pool.connect();
  const unused: string[] = [];
  try {
    await client.query('BEGIN READ ONLY');
    await client.query('SET LOCAL enable_seqscan = off');
    for (const [index, statements] of probes) {
      let text = '';
      for (const sql of statements) {
        const plan = await client.query({ text: `EXPLAIN ${sql.text}`, values: sql.values });
        text += plan.rows.map((r) => r['QUERY PLAN']).join('\n');
      }
      if (!text.includes(index)) unused.push(index);
    }
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    client.release();
  }
  return unused.length
    ? fail(
        name,
        `not used: ${unused.join(', ')}`,
        'ANALYZE appointments; if still unused, REINDEX INDEX CONCURRENTLY <name>',
      )
    : pass(name, probes.map(([i]) => i).join(', '));
}

function backupChecks(config: Config, archiveMode: string, archiveCommand: string): CheckResult[] {
  const configured = 'backups configured (BACKUP_DIR, WAL archiving)';
  const recent = `latest backup under ${config.backupMaxAgeHours} h old`;
  if (!config.backupDir) {
    return [
      fail(
        configured,
        'BACKUP_DIR not set',
        'set BACKUP_DIR to a directory on another disk and restart (docs/operations.md, "Backups")',
      ),
      fail(recent, 'no backups', 'npm run backup, daily from cron or a systemd timer'),
    ];
  }
  const archiving = archiveMode === 'on' || archiveMode === 'always';
  const results: CheckResult[] = [
    archiving && archiveCommand && archiveCommand !== '(disabled)'
      ? pass(configured, `${config.backupDir}, archive_mode ${archiveMode}, keep ${config.backupRetentionDays} days`)
      : fail(
          configured,
          `archive_mode = ${archiveMode}`,
          config.databaseUrl
            ? 'set archive_mode = on and an archive_command on your PostgreSQL (docs/operations.md, "Backups")'
            : 'restart the server: with BACKUP_DIR set it starts the embedded PostgreSQL with WAL archiving',
        ),
  ];
  const latest = latestBackup(config.backupDir);
  const ageHours = latest ? (Date.now() - Date.parse(latest.finished_at)) / 3_600_000 : null;
  results.push(
    ageHours !== null && ageHours <= config.backupMaxAgeHours
      ? pass(recent, `${latest!.name}, ${ageHours.toFixed(1)} h old`)
      : fail(
          recent,
          latest ? `${latest.name} is ${ageHours!.toFixed(1)} h old` : `no backup in ${config.backupDir}`,
          'npm run backup (and schedule it daily)',
        ),
  );
  return results;
}

export async function runPreflight(
  config: Config,
  pool: Pool,
  databaseUrl: string,
  waived: ReadonlySet<Waiver> = new Set(),
): Promise<CheckResult[]> {
  return [...configChecks(config, waived), ...(await databaseChecks(config, pool, databaseUrl))];
}

export function formatResults(results: CheckResult[]): string {
  const lines = results.map((r) => {
    const mark = r.status === 'pass' ? '✓' : r.status === 'fail' ? '✗' : '–';
    const note = r.status === 'waived' ? ' (waived)' : r.status === 'skipped' ? ' (not judged)' : '';
    const head = `${mark} ${r.name}${r.detail ? `: ${r.detail}` : ''}${note}`;
    return r.fix ? `${head}\n    fix: ${r.fix}` : head;
  });
  const failed = results.filter((r) => r.status === 'fail').length;
  const passed = results.filter((r) => r.status === 'pass').length;
  const other = results.length - passed - failed;
  lines.push('', `${passed} ✓   ${failed} ✗   ${other} waived or not judged`);
  return lines.join('\n');
}
