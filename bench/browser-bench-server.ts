// The real server on a fresh embedded PostgreSQL in a temporary DATA_DIR, for the benchmarks
// that drive a browser against it (client, offline-writes). Builds the client first when
// build/ is missing or older than its sources.
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildClient, isClientBuildCurrent } from '../server/build-client.js';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { startServer, type RunningServer } from '../server/server.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

export interface BenchServer {
  server: RunningServer;
  origin: string;
  stop(): Promise<void>;
}

export async function startBrowserBenchServer(name: string): Promise<BenchServer> {
  if (!isClientBuildCurrent()) await buildClient();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `clinic-bench-${name}-`));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as the `postgres` user and must get in.
  await chmod(dataDir, 0o755);
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    PUBLIC_ORIGIN: origin,
    SEED_DEMO: 'false',
    RATE_LIMIT_USER_PER_HOUR: '1000000',
    RATE_LIMIT_SYNC_PER_HOUR: '1000000',
    // Experiments with the long-poll hold time: SYNC_LONG_POLL_MS=5000 npm run bench:...
    SYNC_LONG_POLL_MS: process.env.SYNC_LONG_POLL_MS,
  });
  const server = await startServer(config, createLogger('silent'), { buildIfMissing: false });
  return {
    server,
    origin,
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }).catch(() => undefined);
    },
  };
}
