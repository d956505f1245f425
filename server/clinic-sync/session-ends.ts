// Ends a user's shape requests the moment their session ends (logout, deactivation, password
// change, expiry): a long-poll validated its cookie when it arrived and would otherwise deliver
// the next change up to a hold later. The database announces every deleted session
// (migrations/0080: NOTIFY session_ended), so this needs no hook in the auth code and works for
// every server process on the database.
import pg from 'pg';
import type { Logger } from '../logger.js';

export const SESSION_ENDED_CHANNEL = 'session_ended';

/** How long an ended session id is remembered, for a request validated just before the end. */
const REMEMBER_MS = 5 * 60 * 1000;

/** The open shape requests per session; process-wide, as session ids are unique. */
export class SessionRequests {
  private open = new Map<string, Set<AbortController>>();
  private ended = new Map<string, number>();

  /**
   * A signal that aborts when the session ends; `release` when the request is done. A session
   * that ended between its validation and this call aborts at once.
   */
  track(sessionId: string): { signal: AbortSignal; release(): void } {
    const ctl = new AbortController();
    if (this.ended.has(sessionId)) {
      ctl.abort();
      return { signal: ctl.signal, release: () => {} };
    }
    let set = this.open.get(sessionId);
    if (!set) this.open.set(sessionId, (set = new Set()));
    set.add(ctl);
    return {
      signal: ctl.signal,
      release: () => {
        set.delete(ctl);
        if (!set.size && this.open.get(sessionId) === set) this.open.delete(sessionId);
      },
    };
  }

  end(sessionId: string): number {
    const now = Date.now();
    this.ended.set(sessionId, now);
    for (const [id, at] of this.ended) {
      if (now - at < REMEMBER_MS) break;
      this.ended.delete(id);
    }
    const set = this.open.get(sessionId);
    this.open.delete(sessionId);
    for (const ctl of set ?? []) ctl.abort();
    return set?.size ?? 0;
  }

  get openCount(): number {
    let n = 0;
    for (const s of this.open.values()) n += s.size;
    return n;
  }
}

export const sessionRequests = new SessionRequests();

/** LISTENs for ended sessions on its own connection, reconnecting when it drops. */
export class SessionEndWatcher {
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  listening = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
    private readonly requests: SessionRequests = sessionRequests,
  ) {}

  async start(): Promise<void> {
    await this.connect().catch((err) => {
      this.logger.warn({ err }, 'session-end listener could not connect; retrying');
      this.retry();
    });
  }

  private async connect() {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    this.client = client;
    client.on('error', () => {});
    client.on('end', () => {
      this.listening = false;
      if (!this.stopped) this.retry();
    });
    client.on('notification', (msg) => {
      if (msg.channel === SESSION_ENDED_CHANNEL && msg.payload) this.requests.end(msg.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${SESSION_ENDED_CHANNEL}`);
    this.listening = true;
  }

  private retry() {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect().catch(() => this.retry());
    }, 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.client?.end().catch(() => {});
  }
}
