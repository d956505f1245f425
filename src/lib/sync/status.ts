// The sync status the worker that owns the database broadcasts to every tab of the user.

export type SyncPhase = 'starting' | 'initial' | 'live' | 'auth-required' | 'error' | 'stopped';

export interface SyncStatus {
  phase: SyncPhase;
  /** Rows received per table during this session (initial sync progress). */
  received: Record<string, number>;
  /** Rows the server has for this user, where known (from the API's counts). */
  totals: Record<string, number>;
  /** True once every shape reached up-to-date at least once on this device. */
  initialSyncDone: boolean;
  /** Epoch ms of the last up-to-date from any shape. */
  lastSyncedAt: number | null;
  /** Offsets per table, for diagnostics (Device page). */
  offsets: Record<string, string>;
  error: string | null;
  storage: string | null;
}

export const INITIAL_STATUS: SyncStatus = {
  phase: 'starting',
  received: {},
  totals: {},
  initialSyncDone: false,
  lastSyncedAt: null,
  offsets: {},
  error: null,
  storage: null,
};

export type SyncMessage =
  | { type: 'status'; status: SyncStatus }
  | { type: 'status?' }
  | { type: 'resume' }
  | { type: 'close' }
  /** the outbox is sending over HTTP/1.1 (or stopped): hold back or let go the live requests (live-gate.ts) */
  | { type: 'outbox-sending'; sending: boolean }
  /** a tab saw the browser go offline or online (online-fetch.ts) */
  | { type: 'network'; online: boolean };

export function syncChannelName(dbKey: string): string {
  return `clinic-sync:${dbKey}`;
}
