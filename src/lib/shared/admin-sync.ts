// The answer of GET /api/admin/sync, shared by the server and the admin pages.

export type DeviceHealth = 'green' | 'amber' | 'red';
/** open: heartbeats arrive (every ~60 s while the app is open); closed: they stopped. */
export type DevicePresence = 'open' | 'closed';

export interface ReplicationPanel {
  slot_name: string;
  exists: boolean;
  active: boolean;
  confirmed_flush_lsn: string | null;
  current_wal_lsn: string;
  lag_bytes: number | null;
  lag_seconds: number | null;
  retained_wal_bytes: number | null;
  wal_status: string | null;
  safe_wal_size: number | null;
  warnings: string[];
}

/** One shape as the sync service reports it. */
export interface ShapeStatus {
  table: string;
  /** Who the shape is for and its server-side filter, as the sync service reports it (SQL). */
  scope: string;
  /** The same in words: role, doctor's name, window ("Clinician · Dr Ana Ruiz · from Mon, 5 Oct 2026"). */
  description?: string;
  handle: string;
  rows: number | null;
  log_bytes: number | null;
  live_requests: number;
  last_change_at: string | null;
  /** Offset of the newest entry in the shape log (`<lsn>_<op>`). */
  last_offset: string | null;
}

export interface DeviceStatus {
  device_id: string;
  user: { id: string; email: string; full_name: string; role: string };
  app_version: string;
  online: boolean;
  user_agent: string | null;
  first_seen_at: string;
  last_seen_at: string;
  last_synced_at: string | null;
  behind_seconds: number | null;
  behind_bytes: number | null;
  outbox_pending: number;
  outbox_rejected: number;
  shapes: Record<string, string>;
  storage: { persisted?: boolean | null; usage?: number | null; quota?: number | null };
  health: DeviceHealth;
  presence: DevicePresence;
  stale: boolean;
  reasons: string[];
}

export interface LagPoint {
  at: string;
  slot_active: boolean;
  lag_bytes: number | null;
  lag_seconds: number | null;
  sync_latency_p50_ms: number | null;
  sync_latency_max_ms: number | null;
}

export interface RejectedWrite {
  at: string;
  user_id: string;
  user_email: string | null;
  method: string;
  route: string;
  status: number;
  code: string;
}

export interface AdminSyncStatus {
  generated_at: string;
  replication: ReplicationPanel;
  shapes: ShapeStatus[];
  /** 'sync-service' when the running sync service reported its shapes, else 'unavailable'. */
  shapes_source: 'sync-service' | 'unavailable';
  devices: DeviceStatus[];
  device_counts: { green: number; amber: number; red: number; stale: number };
  rejected_writes: RejectedWrite[];
  history: LagPoint[];
  sample_interval_seconds: number | null;
}
