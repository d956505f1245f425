// What every benchmark result records about where and on what it ran: the machine, its load
// (these machines are shared and noisy, so figures are only comparable within one run) and the
// commit of the code measured (with a flag when the work tree had uncommitted changes).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

export function codeVersion() {
  const dirty = git(['status', '--porcelain', '--untracked-files=no']);
  return { commit: git(['rev-parse', '--short', 'HEAD']), uncommitted_changes: dirty === null ? null : dirty !== '' };
}

/** Call at the start of a run; pass the result to `machineAtEnd` when the run ends. */
export function machineAtStart() {
  return { load_average_at_start: os.loadavg().map(round) };
}

export function machineAtEnd(start: ReturnType<typeof machineAtStart>) {
  return {
    ...start,
    load_average_at_end: os.loadavg().map(round),
    load_average_1m_at_end: round(os.loadavg()[0]!),
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
    ...codeVersion(),
  };
}
