// The replication consumer: one pgoutput slot, one publication, transactions handed over
// whole and in commit order. It reconnects with backoff when the connection drops and
// confirms an LSN to PostgreSQL only once the caller says what it carries is stored.
import { LogicalReplicationService, PgoutputPlugin, type Pgoutput } from 'pg-logical-replication';
import { PgoutputParser } from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput-parser.js';
import pg from 'pg';
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

/** pgoutput parser that keeps every value as PostgreSQL's text (no JS type parsing). */
function textParser(): PgoutputParser {
  const parser = new PgoutputParser();
  const p = parser as unknown as { readRelationColumn(reader: unknown): Record<string, unknown> };
  const original = p.readRelationColumn.bind(parser);
  p.readRelationColumn = (reader) => ({ ...original(reader), parser: (raw: string) => raw });
  return parser;
}

class TextPgoutputPlugin extends PgoutputPlugin {
  constructor(options: ConstructorParameters<typeof PgoutputPlugin>[0]) {
    super(options);
    (this as unknown as { parser: PgoutputParser }).parser = textParser();
  }
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
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  streaming = false;

  constructor(private readonly opts: ReplicationOptions) {}

  /** Starts streaming from `confirmedLsn` (what is already stored) and keeps reconnecting. */
  start(confirmedLsn: bigint): void {
    this.confirmed = confirmedLsn;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.service?.stop().catch(() => {});
    await this.loop;
  }

  /** Tells PostgreSQL that everything up to `lsn` is stored and its WAL may be recycled. */
  confirm(lsn: bigint): void {
    if (lsn <= this.confirmed) return;
    this.confirmed = lsn;
    void this.service?.acknowledge(lsnToText(lsn)).catch(() => {});
  }

  private setStreaming(value: boolean) {
    if (this.streaming === value) return;
    this.streaming = value;
    this.opts.onStateChange?.(value);
  }

  private async run(): Promise<void> {
    let delay = 500;
    while (!this.abort.signal.aborted) {
      const service = new LogicalReplicationService(
        { connectionString: this.opts.databaseUrl, options: displayOptions() } as pg.ClientConfig,
        { acknowledge: { auto: false, timeoutSeconds: 0 } },
      );
      this.service = service;
      service.on('start', () => {
        delay = 500;
        this.setStreaming(true);
      });
      service.on('data', (_lsn: string, msg: Pgoutput.Message) => this.onMessage(msg));
      service.on('heartbeat', (lsn: string, _ts: number, shouldRespond: boolean) => {
        // With nothing in flight, the keepalive's position is safe to confirm: it lets
        // PostgreSQL recycle WAL written by tables outside the publication.
        if (!this.current && this.opts.isIdle()) this.confirm(lsnFromText(lsn));
        if (shouldRespond) void service.acknowledge(lsnToText(this.confirmed)).catch(() => {});
      });
      service.on('error', () => {});
      try {
        const plugin = new TextPgoutputPlugin({ protoVersion: 1, publicationNames: [this.opts.publication] });
        await service.subscribe(plugin, this.opts.slotName, lsnToText(this.confirmed));
      } catch (err) {
        if (!this.abort.signal.aborted) this.opts.logger.warn({ err }, 'replication stream failed; reconnecting');
      }
      this.current = undefined;
      this.setStreaming(false);
      await service.destroy().catch(() => {});
      if (this.abort.signal.aborted) break;
      await sleep(delay, this.abort.signal);
      delay = Math.min(delay * 2, 30_000);
    }
  }

  private onMessage(msg: Pgoutput.Message) {
    switch (msg.tag) {
      case 'begin':
        this.current = {
          xid: msg.xid >>> 0,
          lsn: lsnFromText(msg.commitLsn!),
          endLsn: 0n,
          changes: [],
          truncated: [],
          commitTimeMs: Number(msg.commitTime) / 1000,
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
          old: (msg.old ?? msg.key) as Row | null,
          new: msg.new as Row,
        });
        return;
      case 'delete':
        this.current?.changes.push({
          kind: 'delete',
          schema: msg.relation.schema,
          table: msg.relation.name,
          old: (msg.old ?? msg.key) as Row,
          new: null,
        });
        return;
      case 'truncate':
        for (const r of msg.relations) this.current?.truncated.push(`${r.schema}.${r.name}`);
        return;
      case 'commit': {
        const tx = this.current;
        this.current = undefined;
        if (!tx) return;
        tx.endLsn = lsnFromText(msg.commitEndLsn!);
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
