// GET /api/admin/sync: the whole fleet on one page. Replication comes straight from
// PostgreSQL, shapes from the sync service (when it reports them), devices from their
// heartbeats, rejected writes from the server's own recent answers.
import { Router } from 'express';
import { requireRole } from '../auth/middleware.js';
import type { Queryable } from '../db/pool.js';
import type { AppDeps } from '../deps.js';
import { behindBytes, classifyDevice, offsetPosition } from '../devices/health.js';
import { describeShapes } from './shape-words.js';
import { listDevices } from '../devices/queries.js';
import { recentRejectedWrites } from '../observability/rejected-writes.js';
import { readReplicationState, type ReplicationState } from '../observability/replication.js';
import type {
  AdminSyncStatus,
  DeviceStatus,
  ReplicationPanel,
  RejectedWrite,
  ShapeStatus,
} from '../../src/lib/shared/admin-sync.js';

const GIB = 1024 ** 3;

function replicationWarnings(s: ReplicationState): string[] {
  if (!s.exists) return [`replication slot "${s.slot_name}" does not exist: the sync service is not streaming`];
  const warnings: string[] = [];
  if (!s.active) warnings.push('no consumer is attached to the replication slot: changes are not being streamed');
  if (s.wal_status === 'unreserved')
    warnings.push('the slot is about to lose WAL it still needs (wal_status unreserved)');
  if (s.wal_status === 'lost') warnings.push('the slot lost WAL it needed: shapes must be rebuilt');
  if (s.safe_wal_size === null) warnings.push('max_slot_wal_keep_size is not set: an abandoned slot can fill the disk');
  if ((s.retained_wal_bytes ?? 0) > GIB)
    warnings.push(`the slot retains ${(s.retained_wal_bytes! / GIB).toFixed(1)} GiB of WAL`);
  return warnings;
}

async function replicationPanel(deps: AppDeps): Promise<ReplicationPanel> {
  const state = await readReplicationState(deps.pool, deps.config.syncSlotName);
  const lagSeconds = deps.replicationSampler
    ? deps.replicationSampler.lagSeconds(state, Date.parse(state.read_at))
    : state.lag_bytes === 0
      ? 0
      : state.flush_lag_seconds;
  return {
    slot_name: state.slot_name,
    exists: state.exists,
    active: state.active,
    confirmed_flush_lsn: state.confirmed_flush_lsn,
    current_wal_lsn: state.current_wal_lsn,
    lag_bytes: state.lag_bytes,
    lag_seconds: lagSeconds,
    retained_wal_bytes: state.retained_wal_bytes,
    wal_status: state.wal_status,
    safe_wal_size: state.safe_wal_size,
    warnings: replicationWarnings(state),
  };
}

async function deviceStatuses(db: Queryable, shapes: ShapeStatus[], nowMs: number): Promise<DeviceStatus[]> {
  const newestByTable = new Map<string, number>();
  for (const shape of shapes) {
    const position = offsetPosition(shape.last_offset);
    if (position !== null) newestByTable.set(shape.table, Math.max(newestByTable.get(shape.table) ?? 0, position));
  }
  const rows = await listDevices(db);
  return rows.map((d) => {
    const verdict = classifyDevice(d, nowMs);
    return {
      device_id: d.id,
      user: { id: d.user_id, email: d.email, full_name: d.full_name, role: d.role },
      app_version: d.app_version,
      online: d.online,
      user_agent: d.user_agent,
      first_seen_at: d.first_seen_at.toISOString(),
      last_seen_at: d.last_seen_at.toISOString(),
      last_synced_at: d.last_synced_at?.toISOString() ?? null,
      behind_seconds: verdict.behind_seconds,
      behind_bytes: verdict.presence === 'open' ? behindBytes(d.shapes, newestByTable) : null,
      outbox_pending: d.outbox_pending,
      outbox_rejected: d.outbox_rejected,
      shapes: d.shapes,
      storage: d.storage,
      health: verdict.health,
      presence: verdict.presence,
      stale: verdict.stale,
      reasons: verdict.reasons,
    };
  });
}

async function rejectedWrites(db: Queryable): Promise<RejectedWrite[]> {
  const recent = recentRejectedWrites(50);
  const ids = [...new Set(recent.map((r) => r.user_id))];
  const emails = new Map<string, string>();
  if (ids.length) {
    const { rows } = await db.query<{ id: string; email: string }>(
      'SELECT id, email FROM users WHERE id = ANY($1::uuid[])',
      [ids],
    );
    for (const r of rows) emails.set(r.id, r.email);
  }
  return recent.map((r) => ({ ...r, user_email: emails.get(r.user_id) ?? null }));
}

export async function buildSyncStatus(deps: AppDeps): Promise<AdminSyncStatus> {
  const nowMs = Date.now();
  const reported = deps.syncStatus ? await deps.syncStatus() : null;
  const words = await describeShapes(
    deps.pool,
    (reported ?? []).map((s) => s.scope),
    deps.config.clinicTimeZone,
  );
  const shapes = (reported ?? []).map((s) => ({ ...s, description: words.get(s.scope) }));
  const [replication, devices, rejected] = await Promise.all([
    replicationPanel(deps),
    deviceStatuses(deps.pool, shapes, nowMs),
    rejectedWrites(deps.pool),
  ]);
  const counts = { green: 0, amber: 0, red: 0, stale: 0 };
  for (const d of devices) {
    counts[d.health] += 1;
    if (d.stale) counts.stale += 1;
  }
  return {
    generated_at: new Date(nowMs).toISOString(),
    replication,
    shapes,
    shapes_source: reported ? 'sync-service' : 'unavailable',
    devices,
    device_counts: counts,
    rejected_writes: rejected,
    history: deps.replicationSampler?.history() ?? [],
    sample_interval_seconds: deps.replicationSampler ? deps.replicationSampler.intervalMs / 1000 : null,
  };
}

export function createSyncStatusRouter(deps: AppDeps): Router {
  const router = Router();
  router.get('/sync', requireRole('admin'), async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json(await buildSyncStatus(deps));
  });
  return router;
}
