// The server's Prometheus metrics, in one registry of our own (not prom-client's global one,
// so nothing a dependency registers leaks in). Other features import the named metrics below
// and record with one line, e.g.
//   bookingOutcomes.inc({ outcome: 'conflict', reason: 'slot_conflict' });
//   rateLimitHits.inc({ limiter: 'user' });
// Metrics are process-wide on purpose: one process serves one /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'clinic_' });

/** Every HTTP request, by method, matched route pattern (never the raw URL) and status. */
export const httpDuration = new Histogram({
  name: 'clinic_http_request_duration_seconds',
  help: 'HTTP request duration by method, route pattern and status code',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers: [registry],
});

/**
 * Booking attempts (create and reschedule) by outcome: `created`, `conflict` (reason
 * `slot_conflict` / `patient_conflict`) or `rejected` (reason = the API error code, e.g.
 * `outside_working_hours`, `validation_failed`, `forbidden`). `replayed` counts idempotent replays.
 */
export const bookingOutcomes = new Counter({
  name: 'clinic_booking_outcomes_total',
  help: 'Booking attempts by outcome (created, conflict, rejected, replayed) and reason',
  labelNames: ['outcome', 'reason'] as const,
  registers: [registry],
});

/** Requests refused by a rate limiter, by limiter name (anon, user, login, sync). */
export const rateLimitHits = new Counter({
  name: 'clinic_rate_limit_hits_total',
  help: 'Requests refused with 429 by a rate limiter',
  labelNames: ['limiter'] as const,
  registers: [registry],
});

/** Live (long-poll) shape requests waiting right now, by table. The sync service sets it. */
export const liveShapeRequests = new Gauge({
  name: 'clinic_sync_live_requests',
  help: 'Live shape requests currently waiting, by table',
  labelNames: ['table'] as const,
  registers: [registry],
});

/** Size of each table's shape logs in bytes (sum over its shapes). The sync service sets it. */
export const shapeLogBytes = new Gauge({
  name: 'clinic_sync_shape_log_bytes',
  help: 'Size of the shape logs by table, in bytes',
  labelNames: ['table'] as const,
  registers: [registry],
});

/** Commit in PostgreSQL to change appended to the shape log; the sync service observes it. */
export const syncWriteLatency = new Histogram({
  name: 'clinic_sync_write_to_log_seconds',
  help: 'Time from a transaction commit to its changes being in the shape logs',
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
  registers: [registry],
});

/** Replication slot lag, refreshed by the replication sampler and on every scrape. */
export const replicationLagBytes = new Gauge({
  name: 'clinic_replication_lag_bytes',
  help: 'WAL bytes between the current WAL position and the slot confirmed flush LSN',
  registers: [registry],
});
export const replicationLagSeconds = new Gauge({
  name: 'clinic_replication_lag_seconds',
  help: 'Estimated seconds the replication slot is behind (from sampled WAL positions)',
  registers: [registry],
});
export const replicationRetainedWalBytes = new Gauge({
  name: 'clinic_replication_retained_wal_bytes',
  help: 'WAL bytes the replication slot keeps on disk (from its restart LSN)',
  registers: [registry],
});
export const replicationSlotActive = new Gauge({
  name: 'clinic_replication_slot_active',
  help: '1 when a consumer is attached to the replication slot, 0 otherwise (or missing)',
  registers: [registry],
});

/** Outbox rejects reported by devices: increases of a device's rejected count between heartbeats. */
export const deviceOutboxRejects = new Counter({
  name: 'clinic_device_outbox_rejects_total',
  help: 'Writes rejected by the server as reported by device heartbeats',
  registers: [registry],
});
export const deviceHeartbeats = new Counter({
  name: 'clinic_device_heartbeats_total',
  help: 'Device heartbeats received',
  registers: [registry],
});

/** Unhandled errors answered with a 500. */
export const unhandledErrors = new Counter({
  name: 'clinic_unhandled_errors_total',
  help: 'Unhandled errors answered with 500 internal',
  registers: [registry],
});

// Latencies observed since the sampler last looked: it turns them into one chart point a sample.
let pendingSyncLatencies: number[] = [];

/** For the sync service: one transaction's commit-to-shape-log time, in seconds. */
export function observeSyncWriteLatency(seconds: number): void {
  syncWriteLatency.observe(seconds);
  if (pendingSyncLatencies.length < 100_000) pendingSyncLatencies.push(seconds);
}

export function drainSyncWriteLatencies(): number[] {
  const drained = pendingSyncLatencies;
  pendingSyncLatencies = [];
  return drained;
}

/**
 * Reminder sends by channel and outcome: `sent`, `failed` (permanent, or out of attempts),
 * `retry` (a temporary failure, tried again later) and `review` (may have been delivered).
 */
export const reminderOutcomes = new Counter({
  name: 'clinic_reminders_total',
  help: 'Reminder send attempts by channel and outcome (sent, failed, retry, review)',
  labelNames: ['channel', 'outcome'] as const,
  registers: [registry],
});

let reminderBacklog: (() => Promise<{ dueLate: number; review: number }>) | undefined;
/** The reminders feature registers how to count its backlog (read on every scrape). */
export function setReminderBacklogReader(read: typeof reminderBacklog): void {
  reminderBacklog = read;
}
const backlog = () => (reminderBacklog ? reminderBacklog().catch(() => null) : Promise.resolve(null));

/** Reminders still pending more than a minute after they were due: the senders are behind or down. */
export const remindersDueLate = new Gauge({
  name: 'clinic_reminders_due_late',
  help: 'Pending reminders more than 60 s past their send time',
  registers: [registry],
  async collect() {
    const b = await backlog();
    if (b) this.set(b.dueLate);
  },
});

/** Reminders waiting for a person (interrupted mid-send: may have been delivered). */
export const remindersInReview = new Gauge({
  name: 'clinic_reminders_in_review',
  help: 'Reminders in review: interrupted while sending, not re-sent without a decision',
  registers: [registry],
  async collect() {
    const b = await backlog();
    if (b) this.set(b.review);
  },
});
