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
  /** Where this session's first sync spent its time (benchmark, Device page); null when none ran. */
  firstSync: FirstSyncTimings | null;
  /** How long the worker took to open the database (cold start diagnostics). */
  opened: OpenTimings | null;
}

/** Milliseconds, measured in the worker that opened the database. */
export interface OpenTimings {
  /** Worker script start to PGlite ready (WebAssembly, file system bundle, storage, boot). */
  pgliteMs: number;
  /** The local migrations' check (and any migration run). */
  migrateMs: number;
  /** A new database from the data directory shipped with the app or built in this browser;
   *  'storage': opened from storage as it was (or created there by PGlite's own initdb). */
  createdFrom?: 'shipped' | 'built in the browser' | 'storage';
}

/** Milliseconds from the sync engine's start to the end of each step of a first sync. */
export interface FirstSyncTimings {
  /** Every shape's snapshot received (up-to-date). */
  downloadedMs?: number;
  /** pglite-sync committed the snapshots (one transaction). */
  appliedMs?: number;
  /** The deferred secondary indexes built again. */
  indexedMs?: number;
  /** Planner statistics gathered: the replica is complete. */
  analyzedMs?: number;
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
  firstSync: null,
  opened: null,
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
