// The only reader of process.env. Every setting is validated once at startup; a bad value
// stops the process with a message naming the variable.
import path from 'node:path';
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();

const isTimeZone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  DATABASE_URL: z.string().url().optional(),
  DATA_DIR: z.string().min(1).default('./.data'),
  EMBEDDED_PG_PORT: port.default(54329),
  PUBLIC_ORIGIN: z.string().url().optional(),
  CORS_ORIGINS: z.string().default(''),
  CLINIC_TIMEZONE: z.string().refine(isTimeZone, 'must be an IANA time zone, e.g. Europe/London').default('UTC'),
  CHECK_IN_EARLY_MINUTES: z.coerce.number().int().min(0).max(720).default(60),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  LOG_REQUEST_SAMPLE: z.coerce.number().min(0).max(1).default(0.01),
  SYNC_UPSTREAM_URL: z.string().url().optional(),
  SYNC_SECRET: z.string().min(16).optional(),
  SYNC_INSECURE: bool.default(false),
  SYNC_SLOT_NAME: z
    .string()
    .regex(/^[a-z0-9_]{1,63}$/, 'lowercase letters, digits and _ only')
    .default('clinic_sync'),
  SYNC_LONG_POLL_MS: positiveInt.default(20_000),
  SYNC_QUIET_LONG_POLL_MS: positiveInt.default(2_000),
  SYNC_CLIENT_SHAPES_PER_USER: positiveInt.default(20),
  SYNC_CLIENT_SHAPES_PER_TABLE: positiveInt.default(200),
  SYNC_CLIENT_SHAPE_IDLE_MINUTES: positiveInt.default(60),
  SYNC_COMPACT_LOG_ROWS: positiveInt.default(20_000),
  /** Electric's name: an answer ends once its messages reach this many bytes. */
  ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD: positiveInt.default(10 * 1024 * 1024),
  RATE_LIMIT_ANON_PER_HOUR: positiveInt.default(100),
  RATE_LIMIT_USER_PER_HOUR: positiveInt.default(1000),
  RATE_LIMIT_WRITES_PER_HOUR: positiveInt.default(1000),
  RATE_LIMIT_SYNC_PER_HOUR: positiveInt.default(20_000),
  RATE_LIMIT_LOGIN_FAILURES: positiveInt.default(10),
  RATE_LIMIT_STORE: z.enum(['memory', 'postgres']).default('memory'),
  RATE_LIMIT_MAX_DELAY_MS: z.coerce.number().int().min(0).max(60_000).default(2000),
  METRICS_TOKEN: z.string().min(16).optional(),
  SENTRY_DSN: z.string().url().optional(),
  SESSION_DAYS: positiveInt.default(30),
  SESSION_MAX_DAYS: positiveInt.default(90),
  IDEMPOTENCY_RETENTION_DAYS: positiveInt.default(90),
  AUDIT_CHAIN_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(200),
  SEED_DEMO: bool.default(true),
  BACKUP_DIR: z.string().min(1).optional(),
  BACKUP_RETENTION_DAYS: positiveInt.default(14),
  BACKUP_MAX_AGE_HOURS: positiveInt.default(26),
  TLS_CERT: z.string().min(1).optional(),
  TLS_KEY: z.string().min(1).optional(),
  JOBS_IN_PROCESS: bool.default(true),
  SMTP_URL: z.string().url().optional(),
  MAIL_FROM: z.string().min(3).optional(),
  SMS_WEBHOOK_URL: z.string().url().optional(),
  SMS_WEBHOOK_SECRET: z.string().min(16).optional(),
  REMINDER_MAX_ATTEMPTS: positiveInt.default(8),
  REMINDER_SENDING_TIMEOUT_SECONDS: positiveInt.default(300),
  REMINDER_RETRY_BASE_SECONDS: positiveInt.default(60),
});

export type Config = Readonly<{
  nodeEnv: 'development' | 'production' | 'test';
  isProduction: boolean;
  port: number;
  host: string;
  databaseUrl: string | undefined;
  dataDir: string;
  embeddedPgPort: number;
  publicOrigin: string;
  corsOrigins: readonly string[];
  clinicTimeZone: string;
  /** Check-in opens this many minutes before an appointment's start (src/lib/shared/appointment-rules.ts). */
  checkInEarlyMinutes: number;
  logLevel: string;
  /** pretty on a terminal, JSON otherwise, unless LOG_FORMAT says (server/logger.ts). */
  logFormat: 'pretty' | 'json' | undefined;
  /** Share of ordinary requests logged at info; all are logged at debug (server/observability/http-logging.ts). */
  logRequestSample: number;
  syncUpstreamUrl: string | undefined;
  syncSecret: string | undefined;
  syncInsecure: boolean;
  syncSlotName: string;
  syncLongPollMs: number;
  /** Long-poll hold on the rarely changing reference tables (server/clinic-sync/start.ts). */
  syncQuietLongPollMs: number;
  /** Client-narrowed shapes (own where/columns): live ones per user and per table, idle expiry. */
  syncClientShapes: Readonly<{ perUser: number; perTable: number; idleMinutes: number }>;
  /** Size at which a shape answer is cut into the next chunk (ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD). */
  syncChunkBytes: number;
  /** A shape log with more changes than this is compacted to half of them (server/sync/compaction.ts). */
  syncCompactLogRows: number;
  rateLimits: Readonly<{
    anonPerHour: number;
    userPerHour: number;
    /** Writes carrying an Idempotency-Key (the device outbox's), per user: apart from userPerHour. */
    writesPerHour: number;
    syncPerHour: number;
    loginFailures: number;
    store: 'memory' | 'postgres';
    /** Longest delay express-slow-down adds before a cap is reached. */
    maxDelayMs: number;
  }>;
  metricsToken: string | undefined;
  sentryDsn: string | undefined;
  sessionDays: number;
  sessionMaxDays: number;
  /** Days an idempotent write's answer is kept for replays (server/http/idempotency-retention.ts). */
  idempotencyRetentionDays: number;
  /** How often the audit chainer links new audit rows: the longest a committed row waits unchained. */
  auditChainIntervalMs: number;
  seedDemo: boolean;
  /** Base backups and the WAL archive (server/backup/); unset = no archiving, no backups. */
  backupDir: string | undefined;
  backupRetentionDays: number;
  /** Preflight fails when the newest backup is older than this. */
  backupMaxAgeHours: number;
  /** PEM files: both set = the server speaks HTTPS (and HTTP/2) itself (server/http/listen.ts). */
  tls: Readonly<{ certFile: string; keyFile: string }> | undefined;
  /** Run job workers in the web process (false: `npm run worker` processes do). */
  jobsInProcess: boolean;
  /** Reminders (docs/reminders.md): SMTP server, or .eml files in DATA_DIR/outbox-mail when unset. */
  smtpUrl: string | undefined;
  mailFrom: string;
  /** SMS gateway webhook, signed with smsWebhookSecret; .json files in DATA_DIR/outbox-sms when unset. */
  smsWebhookUrl: string | undefined;
  smsWebhookSecret: string | undefined;
  reminderMaxAttempts: number;
  /** A send still `sending` after this long was interrupted (server/reminders/sweep.ts). */
  reminderSendingTimeoutSeconds: number;
  /** First retry delay after a temporary failure; doubles per attempt, at most an hour. */
  reminderRetryBaseSeconds: number;
}>;

export class ConfigError extends Error {}

/** Reads and validates the environment. Throws ConfigError naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  // Empty strings mean "unset", as in most .env conventions.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  if (e.SMS_WEBHOOK_URL && !e.SMS_WEBHOOK_SECRET) {
    throw new ConfigError(
      'Invalid configuration:\n  SMS_WEBHOOK_SECRET: required with SMS_WEBHOOK_URL (16+ characters)',
    );
  }
  if (e.SYNC_INSECURE && e.NODE_ENV === 'production') {
    throw new ConfigError('Invalid configuration:\n  SYNC_INSECURE: not allowed when NODE_ENV=production');
  }
  if (Boolean(e.TLS_CERT) !== Boolean(e.TLS_KEY)) {
    throw new ConfigError(
      'Invalid configuration:\n  TLS_CERT, TLS_KEY: set both (PEM certificate and its key) or neither',
    );
  }
  const scheme = e.TLS_CERT ? 'https' : 'http';
  const publicOrigin = new URL(e.PUBLIC_ORIGIN ?? `${scheme}://localhost:${e.PORT}`).origin;
  const corsOrigins = e.CORS_ORIGINS.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const origin of corsOrigins) {
    if (!URL.canParse(origin))
      throw new ConfigError(`Invalid configuration:\n  CORS_ORIGINS: "${origin}" is not a URL`);
  }
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: path.resolve(e.DATA_DIR),
    embeddedPgPort: e.EMBEDDED_PG_PORT,
    publicOrigin,
    corsOrigins: Object.freeze(corsOrigins.map((o) => new URL(o).origin)),
    clinicTimeZone: e.CLINIC_TIMEZONE,
    checkInEarlyMinutes: e.CHECK_IN_EARLY_MINUTES,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    logRequestSample: e.LOG_REQUEST_SAMPLE,
    syncUpstreamUrl: e.SYNC_UPSTREAM_URL,
    syncSecret: e.SYNC_SECRET,
    syncInsecure: e.SYNC_INSECURE,
    syncSlotName: e.SYNC_SLOT_NAME,
    syncLongPollMs: e.SYNC_LONG_POLL_MS,
    syncQuietLongPollMs: e.SYNC_QUIET_LONG_POLL_MS,
    syncChunkBytes: e.ELECTRIC_SHAPE_CHUNK_BYTES_THRESHOLD,
    syncCompactLogRows: e.SYNC_COMPACT_LOG_ROWS,
    syncClientShapes: {
      perUser: e.SYNC_CLIENT_SHAPES_PER_USER,
      perTable: e.SYNC_CLIENT_SHAPES_PER_TABLE,
      idleMinutes: e.SYNC_CLIENT_SHAPE_IDLE_MINUTES,
    },
    rateLimits: Object.freeze({
      anonPerHour: e.RATE_LIMIT_ANON_PER_HOUR,
      userPerHour: e.RATE_LIMIT_USER_PER_HOUR,
      writesPerHour: e.RATE_LIMIT_WRITES_PER_HOUR,
      syncPerHour: e.RATE_LIMIT_SYNC_PER_HOUR,
      loginFailures: e.RATE_LIMIT_LOGIN_FAILURES,
      store: e.RATE_LIMIT_STORE,
      maxDelayMs: e.RATE_LIMIT_MAX_DELAY_MS,
    }),
    metricsToken: e.METRICS_TOKEN,
    sentryDsn: e.SENTRY_DSN,
    sessionDays: e.SESSION_DAYS,
    idempotencyRetentionDays: e.IDEMPOTENCY_RETENTION_DAYS,
    auditChainIntervalMs: e.AUDIT_CHAIN_INTERVAL_MS,
    sessionMaxDays: e.SESSION_MAX_DAYS,
    seedDemo: e.SEED_DEMO,
    backupDir: e.BACKUP_DIR ? path.resolve(e.BACKUP_DIR) : undefined,
    backupRetentionDays: e.BACKUP_RETENTION_DAYS,
    backupMaxAgeHours: e.BACKUP_MAX_AGE_HOURS,
    tls:
      e.TLS_CERT && e.TLS_KEY
        ? Object.freeze({ certFile: path.resolve(e.TLS_CERT), keyFile: path.resolve(e.TLS_KEY) })
        : undefined,
    jobsInProcess: e.JOBS_IN_PROCESS,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM ?? `Clinic reminders <reminders@${new URL(publicOrigin).hostname}>`,
    smsWebhookUrl: e.SMS_WEBHOOK_URL,
    smsWebhookSecret: e.SMS_WEBHOOK_SECRET,
    reminderMaxAttempts: e.REMINDER_MAX_ATTEMPTS,
    reminderSendingTimeoutSeconds: e.REMINDER_SENDING_TIMEOUT_SECONDS,
    reminderRetryBaseSeconds: e.REMINDER_RETRY_BASE_SECONDS,
  });
}
