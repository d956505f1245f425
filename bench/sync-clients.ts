// Live clients for `npm run bench:sync`: the official `@electric-sql/client` ShapeStream over
// HTTP with a receptionist's session cookie, the way the app's devices sync. They run in the
// benchmark's process, never in the server's (whose memory is measured alone); the official
// client is used even for the 2,000-client fan-out: one ShapeStream costs a few tens of
// kilobytes, and Node's fetch (undici) opens as many keep-alive connections per origin as there
// are requests in flight, so 2,000 concurrent long-polls need no agent tuning.
import { setMaxListeners } from 'node:events';
import { ShapeStream, isChangeMessage, isControlMessage, type Message, type Row } from '@electric-sql/client';

/**
 * The clock of every sample: CLOCK_MONOTONIC (process.hrtime) in nanoseconds. Writer and
 * clients read the same counter, so a client's reading minus the writer's is a true interval,
 * without the millisecond rounding and wall-clock steps of Date.now().
 */
export const now = () => process.hrtime.bigint();

export interface Opened {
  /** Just before the first stream was created. */
  startedAt: bigint;
  /** When each stream was first up to date, and the rows it had by then. */
  upToDateAt: bigint[];
  rows: number[];
}

/** When each stream had its `count`-th matching change; null when it had not within the timeout. */
export interface Seen {
  at: (bigint | null)[];
  counts: number[];
}

interface Watch {
  match: [string, unknown][];
  count: number;
  counts: number[];
  at: (bigint | null)[];
  remaining: number;
  timer?: NodeJS.Timeout;
  finish(): void;
}

interface Group {
  streams: ShapeStream<Row>[];
  abort: AbortController;
  watches: Set<Watch>;
}

export class LiveClients {
  private readonly groups = new Map<string, Group>();
  /** The first stream error: a failed request is a failed benchmark, not a slower figure. */
  failure: Error | null = null;

  constructor(
    private readonly url: string,
    private readonly cookie: string,
  ) {}

  /**
   * Starts one stream per params object, in batches (as devices arrive over time: 2,000 first
   * requests in the same millisecond measure the listen backlog, not sync), and resolves once
   * every stream is up to date.
   */
  async open(name: string, params: Record<string, unknown>[], batch: number): Promise<Opened> {
    const group: Group = { streams: [], abort: new AbortController(), watches: new Set() };
    setMaxListeners(0, group.abort.signal); // one signal ends all of the group's streams
    this.groups.set(name, group);
    const startedAt = now();
    const upToDateAt: bigint[] = [];
    const rows: number[] = [];
    for (let from = 0; from < params.length; from += batch) {
      await Promise.all(
        params.slice(from, from + batch).map(
          (p, k) =>
            new Promise<void>((resolve, reject) => {
              const index = from + k;
              let inserted = 0;
              let ready = false;
              const fail = (err: Error) => {
                if (group.abort.signal.aborted) return; // closed by us
                this.failure ??= new Error(`stream ${name}#${index}: ${err.message}`);
                reject(this.failure);
              };
              const stream = new ShapeStream<Row>({
                url: `${this.url}/v1/shape`,
                params: p as never,
                headers: { cookie: this.cookie },
                signal: group.abort.signal,
                onError: fail, // no retry
              });
              group.streams[index] = stream;
              stream.subscribe((messages) => {
                const t = now();
                if (!ready) {
                  for (const m of messages) {
                    if (isChangeMessage(m) && m.headers.operation === 'insert') inserted++;
                    if (isControlMessage(m) && m.headers.control === 'up-to-date') {
                      ready = true;
                      upToDateAt[index] = t;
                      rows[index] = inserted;
                      resolve();
                      break;
                    }
                  }
                }
                this.onMessages(group, index, messages, t);
              }, fail);
            }),
        ),
      );
    }
    return { startedAt, upToDateAt, rows };
  }

  /** Resolves when every stream of the group has seen `count` changes whose values equal `match`. */
  watch(name: string, match: Record<string, unknown>, count: number, timeoutMs: number): Promise<Seen> {
    const group = this.groups.get(name);
    if (!group) throw new Error(`no group ${name}`);
    const n = group.streams.length;
    return new Promise((resolve) => {
      const w: Watch = {
        match: Object.entries(match),
        count,
        counts: new Array(n).fill(0),
        at: new Array(n).fill(null),
        remaining: n,
        finish: () => {
          clearTimeout(w.timer);
          group.watches.delete(w);
          resolve({ at: w.at, counts: w.counts });
        },
      };
      w.timer = setTimeout(w.finish, timeoutMs);
      group.watches.add(w);
    });
  }

  close(name: string): void {
    const group = this.groups.get(name);
    if (!group) return;
    group.abort.abort();
    for (const s of group.streams) s.unsubscribeAll();
    this.groups.delete(name);
  }

  closeAll(): void {
    for (const name of [...this.groups.keys()]) this.close(name);
  }

  private onMessages(group: Group, index: number, messages: Message<Row>[], t: bigint) {
    if (!group.watches.size) return;
    for (const m of messages) {
      if (!isChangeMessage(m)) continue;
      for (const w of group.watches) {
        if (w.at[index] !== null || !w.match.every(([k, v]) => m.value[k] === v)) continue;
        if (++w.counts[index]! === w.count) {
          w.at[index] = t;
          if (--w.remaining === 0) w.finish();
        }
      }
    }
  }
}
