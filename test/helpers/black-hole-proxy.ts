/**
 * A TCP proxy on loopback (port 0) in front of a database server, that a test switches between relaying
 * and a black hole: connections are still accepted and read, but nothing is relayed either way — a
 * database (or the network to it) that stopped answering without closing anything (issue 12, item 1).
 * Connections accepted while in the black hole stay dead for good; connections relayed before it resume
 * relaying afterwards, having lost whatever was sent meanwhile (as after a real outage: the client must
 * notice and drop them).
 */
import net from 'node:net';

export class BlackHoleProxy {
  private mode: 'relay' | 'black-hole' = 'relay';
  private readonly sockets = new Set<net.Socket>();
  private server?: net.Server;
  /** connections accepted so far (the test checks the pool really went through the proxy) */
  accepted = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
    return (server.address() as net.AddressInfo).port;
  }

  relay() {
    this.mode = 'relay';
  }

  blackHole() {
    this.mode = 'black-hole';
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private track(s: net.Socket) {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
    s.on('error', () => s.destroy());
  }

  private accept(client: net.Socket) {
    this.accepted++;
    this.track(client);
    if (this.mode === 'black-hole') {
      client.on('data', () => undefined); // read and drop, answer nothing
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    this.track(upstream);
    client.on('data', (d) => {
      if (this.mode === 'relay') upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (this.mode === 'relay') client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}
