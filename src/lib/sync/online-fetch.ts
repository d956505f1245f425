// A shape request made while the device is offline waits for the network instead of failing.
// The stream retries a failed request with a growing delay (up to 10 s in the Electric client),
// so after a while offline it went back online up to 10 s late: the rows that confirm a
// replayed write arrived that much after the write was accepted. Waiting for the `online`
// event (tabs and workers both get it) sends the request the moment the network is back, and
// spares the device a failed request per shape every 10 s while offline.

/** Resolves when the browser says it is online (at once if it is), or when `signal` aborts. */
export function whenOnline(signal?: AbortSignal | null): Promise<void> {
  if (typeof navigator === 'undefined' || navigator.onLine !== false || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const go = () => {
      removeEventListener('online', go);
      signal?.removeEventListener('abort', go);
      resolve();
    };
    addEventListener('online', go);
    signal?.addEventListener('abort', go, { once: true });
  });
}

/** `base`, whose requests wait for the network while the device is offline. */
export function onlineFetch(base: typeof fetch = (input, init) => fetch(input, init)): typeof fetch {
  return async (input, init) => {
    await whenOnline(init?.signal);
    return base(input, init);
  };
}
