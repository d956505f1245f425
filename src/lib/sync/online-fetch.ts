// A shape request made while the device is offline waits for the network instead of failing.
// The stream retries a failed request with a growing delay (up to 10 s in the Electric client),
// so after a while offline it went back online up to 10 s late: the rows that confirm a
// replayed write arrived that much after the write was accepted. The tabs tell the sync
// worker when the browser goes offline and online (a worker's own `navigator.onLine` did not
// follow the page's in Chromium when the network came back, measured with the benchmark), and
// a request made offline goes the moment a tab says the network is back, or after
// MAX_OFFLINE_WAIT_MS (never later than the stream's own retry would have).

/** The longest a request waits for a tab to say the network is back. */
export const MAX_OFFLINE_WAIT_MS = 10_000;

export class NetworkState {
  #offline = false;
  #waiters = new Set<() => void>();

  get offline(): boolean {
    return this.#offline;
  }

  /** What a tab saw (its `online` / `offline` events). */
  set(online: boolean): void {
    this.#offline = !online;
    if (!online) return;
    for (const go of this.#waiters) go();
    this.#waiters.clear();
  }

  /** Resolves when the network is back (at once if it is), after MAX_OFFLINE_WAIT_MS, or on abort. */
  whenOnline(signal?: AbortSignal | null): Promise<void> {
    if (!this.#offline || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => go(), MAX_OFFLINE_WAIT_MS);
      const go = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', go);
        this.#waiters.delete(go);
        resolve();
      };
      this.#waiters.add(go);
      signal?.addEventListener('abort', go, { once: true });
    });
  }
}

/** `base`, whose requests wait for the network while the device is offline. */
export function onlineFetch(
  network: NetworkState,
  base: typeof fetch = (input, init) => fetch(input, init),
): typeof fetch {
  return async (input, init) => {
    await network.whenOnline(init?.signal);
    return base(input, init);
  };
}
