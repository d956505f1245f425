// The sync status as tabs see it: what the database worker broadcasts, plus the browser's
// own online flag.
import { INITIAL_STATUS, syncChannelName, type SyncMessage, type SyncStatus } from './status';

/** Where a tab keeps the last sync time of a user's database, for reloads and offline starts. */
export function lastSyncedKey(dbKey: string): string {
  return `clinic.lastSynced:${dbKey}`;
}

function readStored(key: string | null): number | null {
  if (!key || typeof localStorage === 'undefined') return null;
  const n = Number(localStorage.getItem(key));
  return Number.isFinite(n) && n > 0 ? n : null;
}

class SyncState {
  status = $state<SyncStatus>(INITIAL_STATUS);
  /** The last up-to-date this device saw, surviving reloads (the worker's status starts empty). */
  stored = $state<number | null>(null);
  #storeKey: string | null = null;
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  now = $state(Date.now());
  #channel: BroadcastChannel | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** When this device last had every shape up to date, this session or an earlier one. */
  get lastSyncedAt(): number | null {
    const live = this.status.lastSyncedAt;
    return live && (!this.stored || live > this.stored) ? live : this.stored;
  }

  get badge(): 'offline' | 'syncing' | 'up to date' | 'login needed' | 'error' {
    if (!this.online) return 'offline';
    if (this.status.phase === 'auth-required') return 'login needed';
    if (this.status.phase === 'error') return 'error';
    if (this.status.phase !== 'live') return 'syncing';
    return this.status.lastSyncedAt && this.now - this.status.lastSyncedAt < 60_000 ? 'up to date' : 'syncing';
  }

  start(dbKey: string): void {
    this.stop();
    this.#storeKey = lastSyncedKey(dbKey);
    this.stored = readStored(this.#storeKey);
    this.#channel = new BroadcastChannel(syncChannelName(dbKey));
    this.#channel.onmessage = (event: MessageEvent<SyncMessage>) => {
      if (event.data.type !== 'status') return;
      this.status = event.data.status;
      const at = event.data.status.lastSyncedAt;
      if (at && (!this.stored || at > this.stored)) {
        this.stored = at;
        try {
          if (this.#storeKey) localStorage.setItem(this.#storeKey, String(at));
        } catch {
          /* storage full or blocked: the badge still shows this session's time */
        }
      }
    };
    this.#channel.postMessage({ type: 'status?' } satisfies SyncMessage);
    const onOnline = () => (this.online = navigator.onLine);
    addEventListener('online', onOnline);
    addEventListener('offline', onOnline);
    this.#timer = setInterval(() => {
      this.now = Date.now();
      // The leader may have changed (its tab closed): ask again now and then.
      this.#channel?.postMessage({ type: 'status?' } satisfies SyncMessage);
    }, 5_000);
  }

  stop(): void {
    this.#channel?.close();
    this.#channel = null;
    clearInterval(this.#timer);
  }
}

export const sync = new SyncState();
