// The real app (HTTP API, /v1/shape, sync service, background jobs) for `npm run bench:sync`, in
// a process of its own so that its memory (/proc/<pid>/status) is the server's alone: the
// benchmark's writer and its clients run in other processes, PostgreSQL in its own.
// Configuration comes from the environment (bench/sync.ts sets it); prints one JSON line with
// where it listens once it is ready, and stops cleanly on SIGTERM.
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { startServer } from '../server/server.js';

const config = loadConfig();
// No client build needed: the benchmark speaks HTTP to the API and the shape protocol only.
const server = await startServer(config, createLogger(config.logLevel), { buildIfMissing: false });
console.log(JSON.stringify({ ready: true, url: server.url, databaseUrl: server.databaseUrl }));

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void server.stop().finally(() => process.exit(0));
});
