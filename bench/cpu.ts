// CPU time of the processes a benchmark runs, read from /proc (Linux): where a phase's CPU
// went (the server's Node process, its PostgreSQL, this process and its children), so a
// figure can be given as CPU per operation next to its floor's. Elsewhere every reading is 0.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux this runs on

function ticksOf(stat: string): { own: number; children: number } {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { own: Number(f[11]) + Number(f[12]), children: Number(f[13]) + Number(f[14]) };
}

/** Every descendant of `root` (and itself) with its command name. */
function tree(root: number): Map<number, string> {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  } catch {
    return new Map();
  }
  const rows = out
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/));
  const found = new Map<number, string>([[root, 'root']]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, ppid, comm] of rows)
      if (found.has(Number(ppid)) && !found.has(Number(pid))) {
        found.set(Number(pid), comm ?? '');
        grew = true;
      }
  }
  return found;
}

export interface CpuReading {
  /** per pid: [command, CPU seconds so far, its ended children's included] */
  processes: Map<number, [string, number]>;
  /** this process plus the children it has waited for (e.g. pgbench), CPU seconds */
  self: number;
}

export function readCpu(serverPid: number): CpuReading {
  const processes = new Map<number, [string, number]>();
  for (const [pid, comm] of tree(serverPid)) {
    try {
      // Its own time and that of its children that ended (a PostgreSQL backend that exits
      // between two readings, e.g. pgbench's, is counted in the postmaster's).
      const t = ticksOf(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      processes.set(pid, [comm, (t.own + t.children) / TICKS_PER_SECOND]);
    } catch {
      /* ended */
    }
  }
  let self = 0;
  try {
    const t = ticksOf(readFileSync('/proc/self/stat', 'utf8'));
    self = (t.own + t.children) / TICKS_PER_SECOND;
  } catch {
    /* not Linux */
  }
  return { processes, self };
}

/** CPU seconds between two readings: PostgreSQL's processes, the server's others, and this process. */
export function cpuBetween(a: CpuReading, b: CpuReading) {
  let postgres = 0;
  let server = 0;
  for (const [pid, [comm, seconds]] of b.processes) {
    const spent = seconds - (a.processes.get(pid)?.[1] ?? 0);
    if (comm === 'postgres') postgres += spent;
    else server += spent;
  }
  const round = (n: number) => Math.round(n * 100) / 100;
  return { postgres: round(postgres), server: round(server), benchmark: round(b.self - a.self) };
}
