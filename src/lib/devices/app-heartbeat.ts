// Wires the heartbeat sender to the app: a device id kept in the local database, the sync
// status the worker broadcasts, the browser's online flag and storage. The app shell starts it
// once the local database is open and calls notify() when the sync status changes.
import type { SyncStatus } from '../sync/status';
import { outboxCountsQuery, type OutboxCounts } from '../outbox/queries';
import { startHeartbeats, type HeartbeatSender } from './heartbeat';

interface LocalDb {
  query<T>(sql: string, params?: unknown[]): Promise<{ rows: T[] }>;
}

export interface AppHeartbeatSources {
  db: LocalDb;
  status: () => SyncStatus;
  online: () => boolean;
  /** Pending / rejected outbox entries; by default counted in the local outbox table. */
  outbox?: () => Promise<OutboxCounts>;
}

/** One id per local database (this browser profile and user), created on first use. */
export async function localDeviceId(db: LocalDb): Promise<string> {
  const found = await db.query<{ value: string }>(
    `SELECT value #>> '{}' AS value FROM local_meta WHERE key = 'device_id'`,
  );
  if (found.rows[0]) return found.rows[0].value;
  const id = crypto.randomUUID();
  await db.query(
    `INSERT INTO local_meta (key, value) VALUES ('device_id', to_jsonb($1::text)) ON CONFLICT (key) DO NOTHING`,
    [id],
  );
  const again = await db.query<{ value: string }>(
    `SELECT value #>> '{}' AS value FROM local_meta WHERE key = 'device_id'`,
  );
  return again.rows[0]!.value;
}

async function localOutboxCounts(db: LocalDb): Promise<OutboxCounts> {
  const q = outboxCountsQuery();
  return (await db.query<OutboxCounts>(q.sql, q.params)).rows[0] ?? { pending: 0, rejected: 0 };
}

export async function startAppHeartbeats(sources: AppHeartbeatSources): Promise<HeartbeatSender> {
  const deviceId = await localDeviceId(sources.db);
  return startHeartbeats({
    read: async () => {
      const status = sources.status();
      const outbox = (await (sources.outbox ?? (() => localOutboxCounts(sources.db)))().catch(() => null)) ?? {
        pending: 0,
        rejected: 0,
      };
      return {
        device_id: deviceId,
        app_version: __APP_VERSION__.slice(0, 64),
        online: sources.online(),
        outbox_pending: outbox.pending,
        outbox_rejected: outbox.rejected,
        last_synced_at: status.lastSyncedAt ? new Date(status.lastSyncedAt).toISOString() : null,
        shapes: Object.fromEntries(Object.entries(status.offsets).filter(([, o]) => /^(-1|\d+_(\d+|inf))$/.test(o))),
      };
    },
  });
}
