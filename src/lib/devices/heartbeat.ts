// Device heartbeats: the app tells the server how this device is doing (sync position, outbox,
// storage) on start, about every minute while open, and soon after its sync or outbox state
// changes. The admin sync status page is built from these. Framework-free: the app passes a
// function that reads its current state, and calls notify() when something changed.
import type { Heartbeat } from '../shared/device-schemas';

export type HeartbeatState = Omit<Heartbeat, 'storage'> & { storage?: Heartbeat['storage'] };

export interface HeartbeatOptions {
  /** Reads the device's current state (device id from the local database, outbox counts, …). */
  read: () => HeartbeatState | Promise<HeartbeatState>;
  intervalMs?: number;
  /** Changes arriving close together are sent as one heartbeat after this pause. */
  debounceMs?: number;
  /** Defaults to same-origin fetch; tests and other hosts pass their own. */
  send?: (body: Heartbeat) => Promise<Response>;
}

export interface HeartbeatSender {
  /** Something changed (sync reached up-to-date, outbox grew or shrank, went offline): report soon. */
  notify(): void;
  stop(): void;
  /** Resolves when the heartbeat in flight (if any) is done; for tests and shutdown. */
  idle(): Promise<void>;
}

/** navigator.storage, where the browser has it: persisted flag and usage / quota. */
export async function storageFacts(): Promise<Heartbeat['storage']> {
  const storage = typeof navigator === 'undefined' ? undefined : navigator.storage;
  if (!storage?.estimate) return {};
  const [estimate, persisted] = await Promise.all([storage.estimate(), storage.persisted?.() ?? Promise.resolve(null)]);
  return { persisted, usage: estimate.usage ?? null, quota: estimate.quota ?? null };
}

const sameOrigin = (body: Heartbeat) =>
  fetch('/api/devices/heartbeat', {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

export function startHeartbeats(options: HeartbeatOptions): HeartbeatSender {
  const { intervalMs = 60_000, debounceMs = 2_000, send = sameOrigin } = options;
  let stopped = false;
  let inFlight: Promise<void> = Promise.resolve();
  let debounce: ReturnType<typeof setTimeout> | undefined;

  // A failed heartbeat (offline, expired session) is simply dropped: the next one says it all.
  const beat = () => {
    if (stopped) return;
    inFlight = inFlight.then(async () => {
      if (stopped) return;
      try {
        const state = await options.read();
        const body: Heartbeat = { ...state, storage: state.storage ?? (await storageFacts()) };
        await send(body);
      } catch {
        /* next heartbeat */
      }
    });
  };

  beat();
  const timer = setInterval(beat, intervalMs);
  return {
    notify() {
      if (stopped) return;
      clearTimeout(debounce);
      debounce = setTimeout(beat, debounceMs);
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(debounce);
    },
    idle: () => inFlight,
  };
}
