// The replication consumer: one pgoutput slot, one publication, transactions handed over
// whole and in commit order. It reconnects with backoff when the connection drops and
// confirms an LSN to PostgreSQL only once the caller says what it carries is stored.
//
// Acknowledging promptly is what lets PostgreSQL shut down: a fast shutdown waits until the
// walsender has sent everything and the client has confirmed it, the shutdown checkpoint
// included (a keepalive position past the last change). So keepalive positions are confirmed
// as soon as everything received before them is stored, and when storing is impossible (the
// database is going away) the stream is closed instead, so the walsender can exit; it is
// reopened with backoff from the stored position.
import { LogicalReplicationService } from 'pg-logical-replication';
import pg from 'pg';
import { textPgoutputPlugin, type PgoutputMessage } from './pgoutput.js';
import type { Logger } from '../logger.js';
import { lsnFromText, lsnToText } from './offsets.js';

export type Row = Record<string, string | null>;

export interface RowChange {
  kind: 'insert' | 'update' | 'delete';
  schema: string;
  table: string;
  old: Row | null;
  new: Row | null;
}

export interface ReplicatedTransaction {
  xid: number;
  /** Commit LSN (the offset's first part). */
  lsn: bigint;
  /** End of the commit record: what to confirm once stored. */
  endLsn: bigint;
  /** Commit time on the database server, ms since the epoch (for the write-to-sync latency metric). */
  commitTimeMs?: number;
  changes: RowChange[];
  /** Tables truncated in this transaction ("schema.table"). */
  truncated: string[];
  /** performance.now() when the commit arrived (for the commit-to-message figure). */
  receivedAt?: number;
}

/** Session settings that make values print exactly as Electric's clients expect (§2.4). */
export const DISPLAY_SETTINGS: Record<string, string> = {
  bytea_output: 'hex',
  DateStyle: 'ISO, DMY',
  TimeZone: 'UTC',
  extra_float_digits: '1',
  IntervalStyle: 'iso_8601',
};

export function displayOptions(): string {
  return Object.entries(DISPLAY_SETTINGS)
    .map(([k, v]) => `-c ${k}=${v.replace(/ /g, '\\ ')}`)
    .join(' ');
}

export interface ReplicationOptions {
  databaseUrl: string;
  slotName: string;
  publication: string;
  logger: Logger;
  /** Called for each committed transaction, in commit order. */
  onTransaction(tx: ReplicatedTransaction): void;
  /** True when nothing received is still waiting to be stored. */
  isIdle(): boolean;
  /** Called whenever the stream goes up or down. */
  onStateChange?(streaming: boolean): void;
}

export class ReplicationConsumer {
  private service: LogicalReplicationService | undefined;
  private current: ReplicatedTransaction | undefined;
  private confirmed = 0n;
  /** Newest keepalive position received with no transaction open (safe once the queue is stored). */
  private keepaliveLsn = 0n;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private paused: { until: Promise<void>; resume(): void } | undefined;
  streaming = false;

  constructor(private readonly opts: ReplicationOptions) {}

  /** Starts streaming from `confirmedLsn` (what is already stored) and keeps reconnecting. */
  start(confirmedLsn: bigint): void {
    this.confirmed = confirmedLsn;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.paused?.resume();
    await this.service?.stop().catch(() => {});
    await this.loop;
  }

  /** Tells PostgreSQL that everything up to `lsn` is stored and its WAL may be recycled. */
  confirm(lsn: bigint): void {
    if (lsn <= this.confirmed) return;
    this.confirmed = lsn;
    void this.service?.acknowledge(lsnToText(lsn)).catch(() => {});
  }

  /**
   * The caller has stored everything received so far: a keepalive position seen since is safe
   * to confirm (it lets WAL of other tables, and a shutdown checkpoint, be confirmed).
   */
  caughtUp(): void {
    if (!this.current && this.keepaliveLsn > this.confirmed) this.confirm(this.keepaliveLsn);
  }

  /**
   * Storing fails (e.g. the database is shutting down): close the stream so the walsender is
   * not left waiting for a confirmation that cannot come, and reopen it once `resume` is called.
   */
  pause(): void {
    if (this.paused || this.abort.signal.aborted) return;
    let resume!: () => void;
    const until = new Promise<void>((r) => (resume = r));
    this.paused = { until, resume };
    void this.service?.stop().catch(() => {});
  }

  resume(): void {
    const p = this.paused;
    this.paused = undefined;
    p?.resume();
  }

  get isPaused(): boolean {
    return !!this.paused;
  }

  private setStreaming(value: boolean) {
    if (this.streaming === value) return;
    this.streaming = value;
    this.opts.onStateChange?.(value);
  }

  private async run(): Promise<void> {
    let delay = 500;
    while (!this.abort.signal.aborted) {
      if (this.paused) await this.paused.until;
      if (this.abort.signal.aborted) break;
      const service = new LogicalReplicationService(
        { connectionString: this.opts.databaseUrl, options: displayOptions() } as pg.ClientConfig,
        { acknowledge: { auto: false, timeoutSeconds: 0 } },
      );
      this.service = service;
      service.on('start', () => {
        delay = 500;
        this.setStreaming(true);
      });
      service.on('data', (_lsn: string, msg: PgoutputMessage) => this.onMessage(msg));
      service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
        // A keepalive outside a transaction covers every change before it: confirm it now when
        // all of those are stored, or as soon as they are (caughtUp).
        if (!this.current) {
          const at = lsnFromText(lsn);
          if (at > this.keepaliveLsn) this.keepaliveLsn = at;
          if (this.opts.isIdle()) this.confirm(at);
        }
        if (shouldRespond) void service.acknowledge(lsnToText(this.confirmed)).catch(() => {});
      });
      service.on('error', () => {});
      try {
        await service.subscribe(
          textPgoutputPlugin(this.opts.publication),
          this.opts.slotName,
          lsnToText(this.confirmed),
        );
      } catch (err) {
        if (!this.abort.signal.aborted && !this.paused)
          this.opts.logger.warn({ err }, 'replication stream failed; reconnecting');
      }
      this.current = undefined;
      this.setStreaming(false);
      await service.destroy().catch(() => {});
      if (this.abort.signal.aborted) break;
      if (this.paused) continue;
      await sleep(delay, this.abort.signal);
      delay = Math.min(delay * 2, 5_000);
    }
  }

  private onMessage(msg: PgoutputMessage) {
    switch (msg.tag) {
      case 'begin':
        this.current = {
          xid: msg.xid >>> 0,
          lsn: lsnFromText(msg.commitLsn),
          endLsn: 0n,
          changes: [],
          truncated: [],
          commitTimeMs: Number(msg.commitTimeUs / 1000n),
        };
        return;
      case 'insert':
        this.current?.changes.push({
          kind: 'insert',
          schema: msg.relation.schema,
          table: msg.relation.name,
          old: null,
          new: msg.new as Row,
        });
        return;
      case 'update':
        this.current?.changes.push({
          kind: 'update',
          schema: msg.relation.schema,
          table: msg.relation.name,
          old: msg.old as Row | null,
          new: msg.new as Row,
        });
        return;
      case 'delete':
        this.current?.changes.push({
          kind: 'delete',
          schema: msg.relation.schema,
          table: msg.relation.name,
          old: msg.old as Row,
          new: null,
        });
        return;
      case 'truncate':
        for (const r of msg.relations) this.current?.truncated.push(`${r.schema}.${r.name}`);
        return;
      case 'error':
        // Drop the open transaction and reconnect: PostgreSQL sends it again from the last
        // confirmed position.
        this.opts.logger.error({ err: msg.error }, 'unreadable replication message; reconnecting');
        this.current = undefined;
        void this.service?.stop().catch(() => {});
        return;
      case 'commit': {
        const tx = this.current;
        this.current = undefined;
        if (!tx) return;
        tx.endLsn = lsnFromText(msg.endLsn);
        tx.receivedAt = performance.now();
        this.opts.onTransaction(tx);
        return;
      }
      default:
        return;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Creates the slot if missing. Returns true when it had to be created (all old shapes are void). */
export async function ensureSlot(db: pg.Pool, slotName: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slotName]);
  if (rowCount) return false;
  await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slotName]);
  return true;
}
