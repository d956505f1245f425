// A TCP proxy for outage and bad-network tests: passes bytes on, refuses new connections,
// accepts and never answers (a partition), or degrades the link (added latency per chunk,
// a share of connections reset mid-way). Used by the database-outage test (in front of
// PostgreSQL) and the chaos suite (between clients and the server).
import net from 'node:net';

export interface LinkQuality {
  /** Added delay for every chunk in each direction, in ms. */
  latencyMs?: number;
  /** Share (0..1) of new connections that are reset after a random short while. */
  resetShare?: number;
  /** Share (0..1) of new connections refused straight away (closed without a byte). */
  dropShare?: number;
}

export class TcpProxy {
  mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  quality: LinkQuality = {};
  port = 0;
  /** Connections cut by the proxy on purpose (resets and drops), for the report. */
  cuts = 0;
  private server?: net.Server;
  private sockets = new Set<net.Socket>();

  constructor(
    private readonly target: { host: string; port: number },
    private readonly random: () => number = Math.random,
  ) {}

  async listen(port = 0): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server!.address() as net.AddressInfo).port;
  }

  private track(s: net.Socket) {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => {});
  }

  private accept(client: net.Socket) {
    this.track(client);
    if (this.mode === 'blackhole') return; // accept, then never answer
    const q = this.quality;
    if (q.dropShare && this.random() < q.dropShare) {
      this.cuts++;
      client.destroy();
      return;
    }
    const upstream = net.connect(this.target);
    this.track(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => client.destroy());
    client.on('close', () => upstream.destroy());
    this.pipe(client, upstream);
    this.pipe(upstream, client);
    if (q.resetShare && this.random() < q.resetShare) {
      setTimeout(() => {
        this.cuts++;
        client.resetAndDestroy();
        upstream.destroy();
      }, this.random() * 2_000).unref();
    }
  }

  /** Copies from → to, through the added latency (order kept: each chunk waits its turn). */
  private pipe(from: net.Socket, to: net.Socket) {
    let chain = Promise.resolve();
    from.on('data', (chunk) => {
      const latency = this.quality.latencyMs ?? 0;
      if (!latency) {
        if (!to.destroyed) to.write(chunk);
        return;
      }
      chain = chain.then(
        () =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              if (!to.destroyed) to.write(chunk);
              resolve();
            }, latency),
          ),
      );
    });
    from.on('end', () => void chain.then(() => to.end()));
  }

  /** Cuts every open connection. */
  cutAll(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async refuse(): Promise<void> {
    this.mode = 'refuse';
    this.cutAll();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }

  async blackhole(): Promise<void> {
    if (this.mode === 'refuse') await this.listen(this.port);
    this.mode = 'blackhole';
    this.cutAll();
  }

  async restore(): Promise<void> {
    if (this.mode === 'refuse') await this.listen(this.port);
    this.mode = 'pass';
    this.quality = {};
    this.cutAll();
  }

  async close(): Promise<void> {
    this.cutAll();
    if (this.mode !== 'refuse') await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
