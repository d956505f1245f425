// Percentiles, per-operation tallies and the machine facts every result file carries.
import os from 'node:os';

export function percentile(sorted: number[], p: number): number | null {
  if (!sorted.length) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface OpFigures {
  count: number;
  per_second: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  /** Answers by status ('net' = no answer at all). */
  statuses: Record<string, number>;
  /** Answers that are neither 2xx nor the operation's expected refusals (e.g. a booking's 409). */
  errors: number;
}

export class OpStats {
  private times = new Map<string, number[]>();
  private statuses = new Map<string, Record<string, number>>();
  private errors = new Map<string, number>();

  record(op: string, ms: number, status: number | 'net', expected: boolean): void {
    if (!this.times.has(op)) {
      this.times.set(op, []);
      this.statuses.set(op, {});
      this.errors.set(op, 0);
    }
    this.times.get(op)!.push(ms);
    const s = this.statuses.get(op)!;
    s[String(status)] = (s[String(status)] ?? 0) + 1;
    if (!expected) this.errors.set(op, this.errors.get(op)! + 1);
  }

  figures(seconds: number): Record<string, OpFigures> {
    const out: Record<string, OpFigures> = {};
    for (const [op, times] of [...this.times].sort(([a], [b]) => a.localeCompare(b))) {
      const sorted = [...times].sort((a, b) => a - b);
      out[op] = {
        count: sorted.length,
        per_second: Math.round((sorted.length / seconds) * 10) / 10,
        p50_ms: round(percentile(sorted, 50)),
        p95_ms: round(percentile(sorted, 95)),
        p99_ms: round(percentile(sorted, 99)),
        statuses: this.statuses.get(op)!,
        errors: this.errors.get(op)!,
      };
    }
    return out;
  }
}

export const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10);

export function machine() {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    platform: `${os.platform()} ${os.release()}`,
    node: process.version,
    load_average: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
