// The device fleet in a process of its own, with the same calls as an inline Fleet.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { DeviceSpec, Digest, FleetMessage } from './devices.js';
import { ROOT } from './clinic.js';

export interface FleetHandle {
  start(url: string, specs: DeviceSpec[], rampMs: number): Promise<void>;
  status(): Promise<{ upToDate: number; errors: number; rss_mb: number }>;
  propagation(writes: Array<{ id: string; at: number }>): Promise<number[]>;
  digests(): Promise<Array<Record<string, Digest>>>;
  stop(): Promise<void>;
}

export function fleetProcess(): FleetHandle {
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--max-old-space-size=4096',
      path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'),
      path.join(ROOT, 'bench/load/devices.ts'),
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  let next = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  child.on('message', (m: { id: number; result: unknown }) => {
    waiting.get(m.id)?.(m.result);
    waiting.delete(m.id);
  });
  const ask = <T>(msg: Omit<FleetMessage, 'id'>): Promise<T> =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve as (v: unknown) => void);
      child.send({ ...msg, id });
    });
  return {
    start: async (url, specs, rampMs) => void (await ask({ type: 'start', url, specs, rampMs })),
    status: () => ask({ type: 'status' }),
    propagation: (writes) => ask({ type: 'propagation', writes }),
    digests: () => ask({ type: 'digests' }),
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      await ask({ type: 'stop' });
      await exited;
    },
  };
}
