// Where the app listens: plain HTTP by default; with TLS_CERT/TLS_KEY, HTTPS on HTTP/2 and
// HTTP/1.1 on the same port. HTTP/2 matters for the tablets: each device holds several live
// shape long-polls, more than HTTP/1.1's six connections per host leave room for.
//
// Express 5 does not run on node:http2's request objects (it swaps their prototype for
// http.IncomingMessage's; expressjs/express#5462), so HTTP/2 streams are relayed to the same
// app on a private loopback HTTP/1.1 listener: Express only ever sees HTTP/1.1, the browser
// gets one multiplexed HTTP/2 connection. HTTP/1.1 clients over TLS go to the app directly.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Config } from '../config.js';

export interface Listening {
  url: string;
  /** 'http', or 'https' (HTTP/2 + HTTP/1.1). */
  protocol: 'http' | 'https';
  port: number;
  close(): Promise<void>;
}

/** Hop-by-hop headers: meaningful on one connection only, forbidden in HTTP/2 answers. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade'];

function relayHttp2To(port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
  const relay = (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(req.headers)) if (!name.startsWith(':')) headers[name] = value;
    headers.host = req.authority;
    // Overwritten, never appended: the app trusts X-Forwarded-For from loopback (this relay)
    // and must get the real peer, not whatever the client claims.
    headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
    headers['x-forwarded-proto'] = 'https';
    const upstream = http.request(
      { host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent },
      (answer) => {
        const out: http.OutgoingHttpHeaders = { ...answer.headers };
        for (const h of HOP_BY_HOP) delete out[h];
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'internal', message: 'The server could not answer.' } }));
    });
    // A device that goes away ends its long-poll upstream too.
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  };
  return { relay, agent };
}

function listenOn(server: http.Server | http2.Http2SecureServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
  });
}

function closer(server: http.Server | http2.Http2SecureServer): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      if ('closeAllConnections' in server) server.closeAllConnections();
    });
}

/** The address to print: a wildcard host is reached as localhost on this machine. */
function shownHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * An HTTP server whose idle keep-alive sockets outlive a long-poll (~20 s) and a client's own
 * idle timeout. Node's default (5 s) closes a socket a client may be reusing at that moment:
 * its next request then fails with ECONNRESET, a network error for a request that was fine.
 */
export function createHttpServer(app: RequestListener): http.Server {
  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  return server;
}

export async function listen(app: RequestListener, config: Pick<Config, 'port' | 'host' | 'tls'>): Promise<Listening> {
  const plain = createHttpServer(app);
  if (!config.tls) {
    const port = await listenOn(plain, config.port, config.host);
    return { url: `http://${shownHost(config.host)}:${port}`, protocol: 'http', port, close: closer(plain) };
  }
  const internalPort = await listenOn(plain, 0, '127.0.0.1');
  const { relay, agent } = relayHttp2To(internalPort);
  const secure = http2.createSecureServer({
    cert: readFileSync(config.tls.certFile),
    key: readFileSync(config.tls.keyFile),
    allowHTTP1: true,
  });
  secure.on('request', (req: http2.Http2ServerRequest | http.IncomingMessage, res) => {
    if (req.httpVersionMajor === 2) relay(req as http2.Http2ServerRequest, res as http2.Http2ServerResponse);
    else app(req as http.IncomingMessage, res as unknown as http.ServerResponse);
  });
  let port: number;
  try {
    port = await listenOn(secure, config.port, config.host);
  } catch (err) {
    await closer(plain)();
    throw err;
  }
  return {
    url: `https://${shownHost(config.host)}:${port}`,
    protocol: 'https',
    port,
    close: async () => {
      await closer(secure)();
      agent.destroy();
      await closer(plain)();
    },
  };
}
