// What the sync service reports about its shapes (SyncEngine.status()): the app's admin sync
// page (GET /api/admin/sync) and /metrics read it. Documented in docs/sync.md.
import type { SyncService } from './service.js';
import { formatOffset } from './offsets.js';

export interface ShapeReport {
  table: string;
  scope: string;
  handle: string;
  rows: number | null;
  log_bytes: number | null;
  live_requests: number;
  last_change_at: string | null;
  last_offset: string | null;
}

export function shapeReports(service: SyncService): ShapeReport[] {
  return service.registry.all().map((s) => {
    const shape = s.runtime.shape;
    return {
      table: shape.table,
      scope: `${shape.scope}${shape.whereText ? ` · ${shape.whereText}` : ''}`,
      handle: s.handle,
      rows: s.status === 'ready' ? s.snapshotRows + s.logRows : null,
      log_bytes: s.logBytes,
      live_requests: s.liveRequests,
      last_change_at: s.lastChangeAt?.toISOString() ?? null,
      last_offset: s.status === 'ready' ? formatOffset({ lsn: s.lastLsn, op: s.lastOp }) : null,
    };
  });
}
