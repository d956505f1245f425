// Replication state read straight from PostgreSQL (pg_replication_slots), so it tells the
// truth whatever the sync service believes: is a consumer attached, how far it has confirmed,
// and how much WAL the slot keeps on disk.
import type { Queryable } from '../db/pool.js';

export interface ReplicationState {
  slot_name: string;
  /** false when the slot does not exist (sync not started, or proxying an upstream service). */
  exists: boolean;
  active: boolean;
  plugin: string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  current_wal_lsn: string;
  /** The current WAL position as a byte number, comparable with shape offsets. */
  current_wal_position: number;
  lag_bytes: number | null;
  retained_wal_bytes: number | null;
  /** PostgreSQL's wal_status: reserved / extended / unreserved / lost. */
  wal_status: string | null;
  /** Bytes left before max_slot_wal_keep_size invalidates the slot (null: no limit). */
  safe_wal_size: number | null;
  /** The walsender's flush lag as PostgreSQL measures it, when a consumer reports one. */
  flush_lag_seconds: number | null;
  read_at: string;
}

interface SlotRow {
  slot_name: string | null;
  plugin: string | null;
  active: boolean | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  current_wal_lsn: string;
  current_wal_position: number;
  lag_bytes: number | null;
  retained_wal_bytes: number | null;
  wal_status: string | null;
  safe_wal_size: number | null;
  flush_lag_seconds: number | null;
  read_at: Date;
}

// A LEFT JOIN from a one-row VALUES so the current WAL position comes back even without a slot.
const SLOT_SQL = `
  SELECT s.slot_name, s.plugin, s.active,
         s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.restart_lsn::text AS restart_lsn,
         pg_current_wal_lsn()::text AS current_wal_lsn,
         pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint AS current_wal_position,
         CASE WHEN s.confirmed_flush_lsn IS NOT NULL
              THEN greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::bigint END AS lag_bytes,
         CASE WHEN s.restart_lsn IS NOT NULL
              THEN greatest(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::bigint END AS retained_wal_bytes,
         s.wal_status, s.safe_wal_size,
         extract(epoch FROM r.flush_lag)::float8 AS flush_lag_seconds,
         clock_timestamp() AS read_at
    FROM (VALUES (1)) AS one(x)
    LEFT JOIN pg_replication_slots s ON s.slot_name = $1 AND s.database = current_database()
    LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid`;

export async function readReplicationState(db: Queryable, slotName: string): Promise<ReplicationState> {
  const { rows } = await db.query<SlotRow>(SLOT_SQL, [slotName]);
  const row = rows[0]!;
  return {
    slot_name: slotName,
    exists: row.slot_name !== null,
    active: row.active ?? false,
    plugin: row.plugin,
    confirmed_flush_lsn: row.confirmed_flush_lsn,
    restart_lsn: row.restart_lsn,
    current_wal_lsn: row.current_wal_lsn,
    current_wal_position: Number(row.current_wal_position),
    lag_bytes: row.lag_bytes === null ? null : Number(row.lag_bytes),
    retained_wal_bytes: row.retained_wal_bytes === null ? null : Number(row.retained_wal_bytes),
    wal_status: row.wal_status,
    safe_wal_size: row.safe_wal_size === null ? null : Number(row.safe_wal_size),
    flush_lag_seconds: row.flush_lag_seconds,
    read_at: row.read_at.toISOString(),
  };
}

/** '16/B374D848' → its byte position, as PostgreSQL's pg_lsn arithmetic counts it. */
export function lsnToNumber(lsn: string): number | null {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(lsn);
  if (!m) return null;
  return parseInt(m[1]!, 16) * 2 ** 32 + parseInt(m[2]!, 16);
}
