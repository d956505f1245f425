// Devices holding their role's live shapes through the official Electric client (long-poll),
// as the app does: each keeps, per table, the rows it holds (id → version) so a run can
// compare them with the server's, and the time each new appointment reached it, for the
// write → device propagation figures. Runs inline (CI-sized runs) or as its own process
// (`npm run load`: the devices must not share the server's CPU accounting or event loop).
import { createHash } from 'node:crypto';
import { isChangeMessage, isControlMessage, ShapeStream, type Message, type Row } from '@electric-sql/client';

export interface DeviceSpec {
  cookie: string;
  tables: string[];
  /** Devices of one scope (role and doctor) hold the same rows. */
  scope: string;
}

export interface Digest {
  count: number;
  hash: string;
}

/** Digest of held rows: what a device holds, comparable with a fresh snapshot's. */
export function digestOf(rows: Map<string, string>): Digest {
  const lines = [...rows].map(([id, v]) => `${id}:${v}`).sort();
  return { count: lines.length, hash: createHash('sha1').update(lines.join('\n')).digest('hex').slice(0, 16) };
}

const versionOf = (value: Row) => String(value.version ?? value.updated_at ?? '');

function cookieFetch(cookie: string): typeof fetch {
  return (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('cookie', cookie);
    return fetch(input, { ...init, headers });
  };
}

class Device {
  held = new Map<string, Map<string, string>>();
  upToDate = new Set<string>();
  errors = 0;
  private unsubscribes: Array<() => void> = [];
  private controllers: AbortController[] = [];

  constructor(
    readonly spec: DeviceSpec,
    private readonly onInsert: (table: string, id: string) => void,
  ) {}

  start(url: string) {
    for (const table of this.spec.tables) {
      const rows = new Map<string, string>();
      this.held.set(table, rows);
      const controller = new AbortController();
      this.controllers.push(controller);
      const stream = new ShapeStream<Row>({
        url: `${url}/v1/shape`,
        params: { table } as never,
        fetchClient: cookieFetch(this.spec.cookie),
        signal: controller.signal,
        // Keep syncing through outages and bad links, as the app does.
        onError: () => {
          this.errors++;
          return {};
        },
      });
      this.unsubscribes.push(
        stream.subscribe(
          (messages: Message<Row>[]) => {
            for (const m of messages) {
              if (isChangeMessage(m)) {
                const id = String(m.value.id);
                const op = m.headers.operation;
                if (op === 'delete') rows.delete(id);
                else {
                  const v = versionOf(m.value);
                  if (op === 'insert') {
                    rows.set(id, v);
                    if (this.upToDate.has(table)) this.onInsert(table, id);
                  } else rows.set(id, v || rows.get(id) || '');
                }
              } else if (isControlMessage(m)) {
                if (m.headers.control === 'up-to-date') this.upToDate.add(table);
                if (m.headers.control === 'must-refetch') rows.clear();
              }
            }
          },
          () => this.errors++,
        ),
      );
    }
  }

  stop() {
    for (const u of this.unsubscribes) u();
    for (const c of this.controllers) c.abort();
  }
}

export class Fleet {
  devices: Device[] = [];
  /** appointment id → times (ms) devices received its insert, after their first up-to-date. */
  inserts = new Map<string, number[]>();

  async start(url: string, specs: DeviceSpec[], rampMs: number): Promise<void> {
    for (let i = 0; i < specs.length; i++) {
      const d = new Device(specs[i]!, (table, id) => {
        if (table !== 'appointments') return;
        const list = this.inserts.get(id);
        if (list) list.push(Date.now());
        else this.inserts.set(id, [Date.now()]);
      });
      this.devices.push(d);
      d.start(url);
      if (rampMs > 0) await new Promise((r) => setTimeout(r, rampMs / specs.length));
    }
  }

  upToDate(): number {
    return this.devices.filter((d) => d.spec.tables.every((t) => d.upToDate.has(t))).length;
  }

  /** Latencies (ms) from each write's answer to each device's receipt of it. */
  propagation(writes: Array<{ id: string; at: number }>): number[] {
    const out: number[] = [];
    for (const w of writes) for (const t of this.inserts.get(w.id) ?? []) out.push(Math.max(0, t - w.at));
    return out;
  }

  digests(): Array<Record<string, Digest>> {
    return this.devices.map((d) => Object.fromEntries([...d.held].map(([t, rows]) => [t, digestOf(rows)])));
  }

  errors(): number {
    return this.devices.reduce((n, d) => n + d.errors, 0);
  }

  stop(): void {
    for (const d of this.devices) d.stop();
  }
}

/** A fleet in a child process, driven over IPC (see the bottom of this file). */
export interface FleetMessage {
  type: 'start' | 'status' | 'propagation' | 'digests' | 'stop';
  id: number;
  url?: string;
  specs?: DeviceSpec[];
  rampMs?: number;
  writes?: Array<{ id: string; at: number }>;
}

if (process.send && process.argv[1]?.endsWith('devices.ts')) {
  const fleet = new Fleet();
  process.on('message', async (msg: FleetMessage) => {
    const reply = (result: unknown) => process.send!({ id: msg.id, result });
    if (msg.type === 'start') {
      void fleet.start(msg.url!, msg.specs!, msg.rampMs ?? 0);
      reply(true);
    } else if (msg.type === 'status') {
      reply({
        upToDate: fleet.upToDate(),
        errors: fleet.errors(),
        rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
      });
    } else if (msg.type === 'propagation') {
      reply(fleet.propagation(msg.writes!));
    } else if (msg.type === 'digests') {
      reply(fleet.digests());
    } else if (msg.type === 'stop') {
      fleet.stop();
      reply(true);
      setTimeout(() => process.exit(0), 100);
    }
  });
}
