// How the sender treats an answer (docs/offline-writes.md): accepted, rejected (kept with the
// server's error), retry later (capped, jittered backoff honouring Retry-After), wait (the
// server said when to come back: not a failed attempt), or paused until the user logs in
// again (no retries with bad credentials).

export type Verdict = 'accepted' | 'rejected' | 'retry' | 'wait' | 'auth';

/**
 * `status` null means no answer at all (network error, aborted response). A 503 or 429 that
 * carries Retry-After (the server's database restarting, a rate limit) is 'wait': the write
 * is fine, the server is busy, so it does not count as an attempt nor grow the backoff.
 */
export function classify(status: number | null, hasRetryAfter = false): Verdict {
  if (status === null) return 'retry';
  if (status >= 200 && status < 300) return 'accepted';
  if (status === 401) return 'auth';
  if ((status === 503 || status === 429) && hasRetryAfter) return 'wait';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 1_000, capMs: 60_000 };

/** Retry-After as seconds or an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (!value) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : null;
}

/**
 * Delay before attempt number `attempts + 1`: "full jitter" over an exponentially growing,
 * capped window, so many devices coming back at once spread out; never sooner than the
 * server's Retry-After (which may exceed the cap: the server knows best).
 */
export function backoffDelay(
  attempts: number,
  retryAfterMs: number | null,
  policy = DEFAULT_BACKOFF,
  random = Math.random,
): number {
  const window = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, attempts - 1));
  const jittered = Math.round(window / 2 + (random() * window) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** Delay of a 'wait': the server's Retry-After plus up to a second of jitter (devices spread out). */
export function waitDelay(retryAfterMs: number, random = Math.random): number {
  return retryAfterMs + Math.round(random() * 1_000);
}
