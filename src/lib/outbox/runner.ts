// The device's one sender. Every tab starts a runner; a Web Lock per database lets exactly
// one of them send (the others wait in line and take over when that tab closes). It sends
// on start, when the browser comes online, when any tab queues a write, after a login that
// follows an expired session, and on a timer (which also confirms accepted entries).
import { HOLD_MAX_MS } from '../sync/live-gate';
import { syncChannelName, type SyncMessage } from '../sync/status';
import type { OutboxDb } from './db';
import { confirmAccepted, forgetOldConfirmations } from './confirm';
import { hasAccepted, recoverInDoubt, retryNow, sendPass, type Transport } from './sender';

const POLL_MS = 3_000;
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * A write was just queued: the pass it triggers waits this long, so that the tap's own row
 * repaints first. The tab and the sender share the database worker, which runs statements
 * one at a time: the pass's statements would otherwise queue ahead of the live query's
 * re-run. A one-tap step is held for its undo window anyway; a booking leaves 0.15 s later.
 */
const KICK_DELAY_MS = 150;
/**
 * Accepted entries wait for their rows to come back through sync. When the sync worker says
 * rows arrived, the sender looks this much later (the worker announces a batch as it starts
 * applying it), instead of at its next 500 ms poll.
 */
const SYNCED_ROWS_DELAY_MS = 100;

/**
 * Whether requests to `path` share one connection with everything else (HTTP/2 or 3), as far
 * as the browser's resource timing knows; null when it does not (no entry yet, a full buffer).
 */
function multiplexed(path: string): boolean | null {
  if (typeof location === 'undefined' || typeof performance?.getEntriesByName !== 'function') return null;
  const href = new URL(path, location.href).href;
  const entry = performance.getEntriesByName(href, 'resource').at(-1) as PerformanceResourceTiming | undefined;
  if (!entry?.nextHopProtocol) return null;
  return entry.nextHopProtocol === 'h2' || entry.nextHopProtocol === 'h3';
}

export function outboxChannelName(dbKey: string): string {
  return `clinic-outbox:${dbKey}`;
}

/** Same-origin fetch with the session cookie and the idempotency key. */
export const fetchTransport: Transport = async (req) => {
  const res = await fetch(req.path, {
    method: req.method,
    credentials: 'same-origin',
    // A request that hangs (a connection that died silently) must not hold the queue: after
    // this long it counts as "no answer" and is sent again under the same key.
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    headers: { 'content-type': 'application/json', 'idempotency-key': req.idempotencyKey },
    body: JSON.stringify(req.body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json };
};

export class OutboxRunner {
  #abort = new AbortController();
  #wake: (() => void) | null = null;
  #pausedForAuth = false;
  #kickTimer: ReturnType<typeof setTimeout> | undefined;
  #syncedTimer: ReturnType<typeof setTimeout> | undefined;
  #channels: BroadcastChannel[] = [];
  /** accepted entries are waiting for their synced rows */
  #awaitingSync = false;
  /** rows of the tables that confirm writes, received so far (from the sync status) */
  #confirmingRows = 0;
  /** the last outbox request went over HTTP/2 or 3 (null: not known yet) */
  #multiplexed: boolean | null = null;
  /** when the sync worker was last asked to hold its live requests (0: not holding) */
  #holdAskedAt = 0;

  constructor(
    private readonly db: OutboxDb,
    private readonly dbKey: string,
    private readonly transport: Transport = fetchTransport,
  ) {}

  start(): void {
    const outbox = new BroadcastChannel(outboxChannelName(this.dbKey));
    outbox.onmessage = () => this.#kickSoon();
    const sync = new BroadcastChannel(syncChannelName(this.dbKey));
    sync.onmessage = (e: MessageEvent<SyncMessage>) => {
      if (e.data.type === 'resume') this.resume();
      if (e.data.type === 'status') this.#onSyncStatus(e.data.status.received);
    };
    this.#channels = [outbox, sync];
    addEventListener('online', this.#onOnline);
    addEventListener('offline', this.#onOffline);
    if (navigator.onLine === false) this.#onOffline();
    void navigator.locks
      .request(`clinic-outbox-sender:${this.dbKey}`, { signal: this.#abort.signal }, () => this.#run())
      .catch(() => {
        /* aborted while waiting for the lock */
      });
  }

  stop(): void {
    this.#abort.abort();
    clearTimeout(this.#kickTimer);
    clearTimeout(this.#syncedTimer);
    removeEventListener('online', this.#onOnline);
    removeEventListener('offline', this.#onOffline);
    for (const c of this.#channels) c.close();
    this.#wake?.();
  }

  /** A write was queued (in any tab of this device): send soon. */
  kick(): void {
    const c = new BroadcastChannel(outboxChannelName(this.dbKey));
    c.postMessage('kick');
    c.close();
    this.#kickSoon();
  }

  /** After a new login. */
  resume(): void {
    this.#pausedForAuth = false;
    void retryNow(this.db).finally(() => this.#kickHere());
  }

  // Back online: entries waiting out a backoff are due now, and the sync worker's shape
  // requests made offline go at once (src/lib/sync/online-fetch.ts).
  #onOnline = () => {
    this.#postSync({ type: 'network', online: true });
    void retryNow(this.db).finally(() => this.#kickHere());
  };

  #onOffline = () => {
    this.#postSync({ type: 'network', online: false });
  };

  #kickHere(): void {
    this.#wake?.();
  }

  // Rows of appointments or patients arrived: accepted entries may be confirmed now.
  #onSyncStatus(received: Record<string, number>): void {
    const rows = (received.appointments ?? 0) + (received.patients ?? 0);
    if (rows === this.#confirmingRows) return;
    this.#confirmingRows = rows;
    if (!this.#awaitingSync) return;
    clearTimeout(this.#syncedTimer);
    this.#syncedTimer = setTimeout(() => this.#kickHere(), SYNCED_ROWS_DELAY_MS);
  }

  // Offline, a pass would only meet network errors (and its statements compete with the
  // taps): the 'online' event starts one.
  #kickSoon(): void {
    if (navigator.onLine === false) return;
    clearTimeout(this.#kickTimer);
    this.#kickTimer = setTimeout(() => this.#kickHere(), KICK_DELAY_MS);
  }

  /**
   * The transport of a pass. Over HTTP/1.1 (or while the protocol is not known) it asks the
   * sync worker to hold back the live requests of the shapes a replay does not wait for, so
   * that their connections go to the outbox (src/lib/sync/live-gate.ts); renewed while the
   * pass sends, ended with the pass.
   */
  #passTransport: Transport = async (req) => {
    if (this.#multiplexed !== true && Date.now() - this.#holdAskedAt > HOLD_MAX_MS / 3) {
      this.#holdAskedAt = Date.now();
      this.#postSync({ type: 'outbox-sending', sending: true });
    }
    try {
      return await this.transport(req);
    } finally {
      this.#multiplexed = multiplexed(req.path) ?? this.#multiplexed;
    }
  };

  #endHold(): void {
    if (!this.#holdAskedAt) return;
    this.#holdAskedAt = 0;
    this.#postSync({ type: 'outbox-sending', sending: false });
  }

  #postSync(message: SyncMessage): void {
    this.#channels[1]?.postMessage(message);
  }

  async #run(): Promise<void> {
    await recoverInDoubt(this.db);
    while (!this.#abort.signal.aborted) {
      let waitMs = POLL_MS;
      try {
        await confirmAccepted(this.db);
        await forgetOldConfirmations(this.db);
        if (!this.#pausedForAuth && navigator.onLine !== false) {
          const pass = await sendPass(this.db, this.#passTransport).finally(() => this.#endHold());
          if (pass.paused === 'auth') this.#pausedForAuth = true;
          if (pass.nextAttemptAt) waitMs = Math.max(50, Math.min(POLL_MS * 10, pass.nextAttemptAt - Date.now()));
        }
        // Accepted entries wait for sync: look again soon (or when rows arrive).
        this.#awaitingSync = await hasAccepted(this.db);
        if (this.#awaitingSync) waitMs = Math.min(waitMs, 500);
      } catch (err) {
        console.error('outbox pass failed', err);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
    }
  }
}
