// The real server on a fresh embedded PostgreSQL in a temporary DATA_DIR, for the benchmarks
// that drive a browser against it (client, offline-writes). Builds the client first when
// build/ is missing or older than its sources. With `tls`, the server speaks HTTPS (HTTP/2 and
// HTTP/1.1, server/http/listen.ts) with a certificate from a throwaway local CA, as tablets
// reach it (README, "Use it from tablets"); `chromiumArgs` make Chromium accept that
// certificate as valid (service worker included) without touching the machine's trust store.
import { createHash, X509Certificate } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildClient, isClientBuildCurrent } from '../server/build-client.js';
import { loadConfig } from '../server/config.js';
import { createLogger } from '../server/logger.js';
import { startServer, type RunningServer } from '../server/server.js';
import { createCa, createServerCert } from '../server/tls/local-ca.js';

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
  /** Extra Chromium flags (with `tls`: trust the server's certificate). */
  chromiumArgs: string[];
  stop(): Promise<void>;
}

/** A certificate for 127.0.0.1 and the Chromium flag that pins it as trusted (its key's SPKI hash). */
async function benchCertificate(dir: string) {
  const leaf = createServerCert(createCa('Clinic bench CA', 1), ['localhost', '127.0.0.1'], 2);
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  await writeFile(certFile, leaf.cert);
  await writeFile(keyFile, leaf.key);
  const spki = new X509Certificate(leaf.cert).publicKey.export({ type: 'spki', format: 'der' });
  const pin = createHash('sha256').update(spki).digest('base64');
  return { certFile, keyFile, chromiumArgs: [`--ignore-certificate-errors-spki-list=${pin}`] };
}

export async function startBrowserBenchServer(name: string, { tls = false } = {}): Promise<BenchServer> {
  if (!isClientBuildCurrent()) await buildClient();
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `clinic-bench-${name}-`));
  // mkdtemp makes it 0700; as root, PostgreSQL runs as the `postgres` user and must get in.
  await chmod(dataDir, 0o755);
  const tlsDir = tls ? await mkdtemp(path.join(os.tmpdir(), `clinic-bench-${name}-tls-`)) : null;
  const cert = tlsDir ? await benchCertificate(tlsDir) : null;
  const port = await freePort();
  const origin = `${cert ? 'https' : 'http'}://127.0.0.1:${port}`;
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PORT: String(port),
    DATA_DIR: dataDir,
    EMBEDDED_PG_PORT: String(await freePort()),
    PUBLIC_ORIGIN: origin,
    SEED_DEMO: 'false',
    RATE_LIMIT_USER_PER_HOUR: '1000000',
    RATE_LIMIT_WRITES_PER_HOUR: '1000000',
    RATE_LIMIT_SYNC_PER_HOUR: '1000000',
    // Experiments with the long-poll hold time: SYNC_LONG_POLL_MS=5000 npm run bench:...
    SYNC_LONG_POLL_MS: process.env.SYNC_LONG_POLL_MS,
    TLS_CERT: cert?.certFile,
    TLS_KEY: cert?.keyFile,
  });
  const server = await startServer(config, createLogger('silent'), { buildIfMissing: false });
  return {
    server,
    origin,
    chromiumArgs: cert?.chromiumArgs ?? [],
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true, maxRetries: 5 }).catch(() => undefined);
      if (tlsDir) await rm(tlsDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}
