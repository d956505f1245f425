// Samples replication every few seconds and keeps the last hour for the admin page's chart:
// lag in bytes, an estimate of lag in seconds, and write-to-sync latency reported by the sync
// service. Lag in seconds is estimated from our own samples of the WAL position: the slot is
// as far behind as the time since the WAL first moved past the slot's confirmed position.
import type { Pool } from '../db/pool.js';
import type { Logger } from '../logger.js';
import {
  drainSyncWriteLatencies,
  replicationLagBytes,
  replicationLagSeconds,
  replicationRetainedWalBytes,
  replicationSlotActive,
} from './metrics.js';
import { readReplicationState, lsnToNumber, type ReplicationState } from './replication.js';
import type { LagPoint } from '../../src/lib/shared/admin-sync.js';

interface WalSample {
  atMs: number;
  position: number;
}

export interface SamplerOptions {
  pool: Pool;
  slotName: string;
  logger?: Logger;
  intervalMs?: number;
  windowMs?: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export class ReplicationSampler {
  readonly intervalMs: number;
  private readonly windowMs: number;
  private readonly wal: WalSample[] = [];
  private readonly points: LagPoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<unknown> | undefined;
  private lastState: ReplicationState | undefined;

  constructor(private readonly options: SamplerOptions) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.windowMs = options.windowMs ?? 60 * 60_000;
  }

  start(): void {
    if (this.timer) return;
    const tick = () => {
      if (this.inFlight) return;
      this.inFlight = this.sample()
        .catch((err) => this.options.logger?.warn({ err }, 'replication sample failed'))
        .finally(() => (this.inFlight = undefined));
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Reads the slot once, records a chart point and refreshes the replication gauges. */
  async sample(): Promise<ReplicationState> {
    const state = await readReplicationState(this.options.pool, this.options.slotName);
    const nowMs = Date.parse(state.read_at);
    this.wal.push({ atMs: nowMs, position: state.current_wal_position });
    const lagSeconds = this.lagSeconds(state, nowMs);
    const latencies = drainSyncWriteLatencies().sort((a, b) => a - b);
    this.points.push({
      at: state.read_at,
      slot_active: state.active,
      lag_bytes: state.lag_bytes,
      lag_seconds: lagSeconds,
      sync_latency_p50_ms: latencies.length ? quantile(latencies, 0.5) * 1000 : null,
      sync_latency_max_ms: latencies.length ? latencies[latencies.length - 1]! * 1000 : null,
    });
    this.trim(nowMs);
    this.lastState = state;
    updateReplicationGauges(state, lagSeconds);
    return state;
  }

  /** Seconds since the WAL first passed the slot's confirmed position (0 when caught up). */
  lagSeconds(state: ReplicationState, nowMs: number): number | null {
    if (!state.exists || state.confirmed_flush_lsn === null) return null;
    if (!state.lag_bytes) return 0;
    const confirmed = lsnToNumber(state.confirmed_flush_lsn);
    if (confirmed === null) return null;
    const firstAhead = this.wal.find((s) => s.position > confirmed);
    if (!firstAhead) return state.flush_lag_seconds;
    return Math.max(0, (nowMs - firstAhead.atMs) / 1000);
  }

  history(): LagPoint[] {
    return [...this.points];
  }

  latest(): ReplicationState | undefined {
    return this.lastState;
  }

  private trim(nowMs: number) {
    const cutoff = nowMs - this.windowMs;
    while (this.points.length && Date.parse(this.points[0]!.at) < cutoff) this.points.shift();
    // Keep one WAL sample older than the window: it bounds the estimate of a very old lag.
    while (this.wal.length > 1 && this.wal[1]!.atMs < cutoff) this.wal.shift();
  }
}

export function updateReplicationGauges(state: ReplicationState, lagSeconds: number | null): void {
  replicationSlotActive.set(state.active ? 1 : 0);
  if (state.lag_bytes !== null) replicationLagBytes.set(state.lag_bytes);
  if (state.retained_wal_bytes !== null) replicationRetainedWalBytes.set(state.retained_wal_bytes);
  if (lagSeconds !== null) replicationLagSeconds.set(lagSeconds);
}
