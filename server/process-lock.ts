// One server per DATA_DIR: a pid file, taken atomically, refused while its owner is alive.
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import path from 'node:path';

export class AlreadyRunningError extends Error {}

export function acquireProcessLock(dataDir: string, name = 'server.pid'): () => void {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, name);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const pid = Number(readFileSync(file, 'utf8'));
      let alive = false;
      try {
        process.kill(pid, 0);
        alive = pid !== process.pid;
      } catch {
        alive = false;
      }
      if (alive) {
        throw new AlreadyRunningError(
          `Another server (process ${pid}) is already running with DATA_DIR=${dataDir}. Stop it first, or use another DATA_DIR.`,
        );
      }
      rmSync(file, { force: true }); // stale: its owner died without cleaning up
    }
  }
  throw new AlreadyRunningError(`Could not take the lock file ${file}.`);
}
