// Over HTTP/1.1 a browser opens at most six connections to a host, and a device long-polls
// one shape per synced table (more than six): every outbox request then waits for a long-poll
// to end. While the outbox is sending over HTTP/1.1, the live requests of the shapes a replay
// does not wait for (everything but appointments and patients, whose rows confirm the writes)
// are held back in the device, so their connections go to the outbox. Over HTTP/2 one
// connection carries everything and nothing is held. A hold ends when the outbox says so, or
// after HOLD_MAX_MS whatever happens (a tab that closed mid-replay cannot stop sync for long).

/** The longest one announcement holds live requests; the sender renews it while it sends. */
export const HOLD_MAX_MS = 15_000;

/** Tables whose live requests never wait: their rows confirm accepted writes. */
export const CONFIRMING_TABLES: ReadonlySet<string> = new Set(['appointments', 'patients']);

export class LiveRequestGate {
  #until = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #waiters = new Set<() => void>();

  constructor(private readonly now: () => number = Date.now) {}

  get holding(): boolean {
    return this.now() < this.#until;
  }

  /** Hold live requests for at most `ms` (a new call replaces the previous hold). */
  hold(ms = HOLD_MAX_MS): void {
    this.#until = this.now() + Math.min(ms, HOLD_MAX_MS);
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.release(), Math.min(ms, HOLD_MAX_MS));
  }

  release(): void {
    this.#until = 0;
    clearTimeout(this.#timer);
    for (const go of this.#waiters) go();
    this.#waiters.clear();
  }

  /** Resolves when live requests may go; at once if the request was aborted meanwhile. */
  wait(signal?: AbortSignal | null): Promise<void> {
    if (!this.holding || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        signal?.removeEventListener('abort', go);
        this.#waiters.delete(go);
        resolve();
      };
      this.#waiters.add(go);
      signal?.addEventListener('abort', go, { once: true });
    });
  }
}

const isLiveRequest = (input: RequestInfo | URL): boolean => {
  const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url, 'http://x');
  return url.searchParams.get('live') === 'true';
};

/**
 * A fetch for a shape stream whose live requests wait for the gate. Catch-up requests
 * (initial sync, changes after a live answer) go at once; an aborted wait lets the fetch
 * itself reject with the abort, as the stream expects.
 */
export function gatedFetch(
  gate: LiveRequestGate,
  base: typeof fetch = (input, init) => fetch(input, init),
): typeof fetch {
  return async (input, init) => {
    if (isLiveRequest(input)) await gate.wait(init?.signal);
    return base(input, init);
  };
}
