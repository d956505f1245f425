// A thin layer over autocannon: runs one load, records every response's latency and status
// (autocannon's own summary has no p95), and returns the figures the booking bench reports.
import autocannon from 'autocannon';

export interface LoadFigures {
  requests: number;
  seconds: number;
  perSecond: number;
  statuses: Record<string, number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Either a duration in seconds or an exact number of requests. */
  duration?: number;
  amount?: number;
  headers: Record<string, string>;
  method?: 'GET' | 'POST';
  /** Path (and body) of each request; called once per request. */
  next: () => { path: string; body?: unknown };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function runLoad(options: LoadOptions): Promise<LoadFigures> {
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        connections: options.connections,
        ...(options.amount ? { amount: options.amount } : { duration: options.duration ?? 10 }),
        headers: options.headers,
        // Answers may queue behind a lock for a while: measure them, don't time them out.
        timeout: 120,
        requests: [
          {
            method: options.method ?? 'GET',
            setupRequest: (req: Record<string, unknown>) => {
              const { path, body } = options.next();
              return { ...req, path, ...(body === undefined ? {} : { body: JSON.stringify(body) }) };
            },
          },
        ],
      },
      (err: unknown) => (err ? reject(err) : resolve()),
    );
    instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      statuses[status] = (statuses[status] ?? 0) + 1;
    });
  });
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    requests: latencies.length,
    seconds: round(seconds),
    perSecond: Math.round(latencies.length / seconds),
    statuses,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p95: round(percentile(latencies, 95)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies.at(-1) ?? NaN),
    },
  };
}
