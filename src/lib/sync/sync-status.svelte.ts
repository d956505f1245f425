// The sync status as tabs see it: what the database worker broadcasts, plus the browser's
// own online flag.
import { INITIAL_STATUS, syncChannelName, type SyncMessage, type SyncStatus } from './status';

class SyncState {
  status = $state<SyncStatus>(INITIAL_STATUS);
  online = $state(typeof navigator === 'undefined' ? true : navigator.onLine);
  now = $state(Date.now());
  #channel: BroadcastChannel | null = null;
  #timer: ReturnType<typeof setInterval> | undefined;

  get badge(): 'offline' | 'syncing' | 'up to date' | 'login needed' | 'error' {
    if (!this.online) return 'offline';
    if (this.status.phase === 'auth-required') return 'login needed';
    if (this.status.phase === 'error') return 'error';
    if (this.status.phase !== 'live') return 'syncing';
    return this.status.lastSyncedAt && this.now - this.status.lastSyncedAt < 60_000 ? 'up to date' : 'syncing';
  }

  start(dbKey: string): void {
    this.stop();
    this.#channel = new BroadcastChannel(syncChannelName(dbKey));
    this.#channel.onmessage = (event: MessageEvent<SyncMessage>) => {
      if (event.data.type === 'status') this.status = event.data.status;
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
