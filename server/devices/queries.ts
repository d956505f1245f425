import type { Queryable } from '../db/pool.js';
import type { Heartbeat } from '../../src/lib/shared/device-schemas.js';

/**
 * Stores a heartbeat (one row per device, the newest wins) and returns the device's previous
 * rejected count, so the caller can count newly reported rejects. A device id that moves to
 * another user (a shared tablet) follows its newest user.
 */
export async function upsertHeartbeat(
  db: Queryable,
  userId: string,
  hb: Heartbeat,
  userAgent: string | null,
): Promise<{ previousRejected: number | null }> {
  const { rows } = await db.query<{ previous_rejected: number | null }>(
    `WITH prev AS (SELECT outbox_rejected FROM devices WHERE id = $1)
     INSERT INTO devices (id, user_id, app_version, online, outbox_pending, outbox_rejected,
                          last_synced_at, shapes, storage, user_agent, last_seen_at)
     VALUES ($1, $2, $3, $4, $5, $6, least($7::timestamptz, now()), $8, $9, $10, now())
     ON CONFLICT (id) DO UPDATE SET
       user_id = EXCLUDED.user_id, app_version = EXCLUDED.app_version, online = EXCLUDED.online,
       outbox_pending = EXCLUDED.outbox_pending, outbox_rejected = EXCLUDED.outbox_rejected,
       last_synced_at = EXCLUDED.last_synced_at, shapes = EXCLUDED.shapes, storage = EXCLUDED.storage,
       user_agent = EXCLUDED.user_agent, last_seen_at = now()
     RETURNING (SELECT outbox_rejected FROM prev) AS previous_rejected`,
    [
      hb.device_id,
      userId,
      hb.app_version,
      hb.online,
      hb.outbox_pending,
      hb.outbox_rejected,
      hb.last_synced_at,
      JSON.stringify(hb.shapes),
      JSON.stringify(hb.storage),
      userAgent,
    ],
  );
  return { previousRejected: rows[0]?.previous_rejected ?? null };
}

export interface DeviceRow {
  id: string;
  user_id: string;
  email: string;
  full_name: string;
  role: string;
  app_version: string;
  online: boolean;
  outbox_pending: number;
  outbox_rejected: number;
  last_synced_at: Date | null;
  shapes: Record<string, string>;
  storage: Record<string, unknown>;
  user_agent: string | null;
  first_seen_at: Date;
  last_seen_at: Date;
}

/** Devices seen in the last `days` days, newest first, with their user. */
export async function listDevices(db: Queryable, { days = 30, limit = 2000 } = {}): Promise<DeviceRow[]> {
  const { rows } = await db.query<DeviceRow>(
    `SELECT d.id, d.user_id, u.email, u.full_name, u.role, d.app_version, d.online, d.outbox_pending,
            d.outbox_rejected, d.last_synced_at, d.shapes, d.storage, d.user_agent, d.first_seen_at, d.last_seen_at
       FROM devices d JOIN users u ON u.id = d.user_id
      WHERE d.last_seen_at > now() - make_interval(days => $1)
      ORDER BY d.last_seen_at DESC
      LIMIT $2`,
    [days, limit],
  );
  return rows;
}
