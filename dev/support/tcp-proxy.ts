/**
 * A TCP forwarder on a free loopback port that a test can cut at an exact moment: `cut()` drops every
 * open connection (nothing written after it reaches the server), `down()` also refuses new ones until
 * `up()`. Sockets are destroyed, not reset: on Node 20 a `resetAndDestroy()` socket can keep the process
 * spinning at exit. It keeps its port throughout, so nobody else can take it while it is down.
 */
import net from 'node:net';

export interface TcpProxy {
  port: number;
  /** `127.0.0.1:port` */
  address: string;
  /** Drops every open connection, synchronously; new connections are still forwarded. */
  cut(): void;
  /** Drops every open connection and closes new ones at once until up(). */
  down(): void;
  up(): void;
  close(): Promise<void>;
}

/** Starts forwarding 127.0.0.1:<free port> to the target. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let refusing = false;
  const server = net.createServer((downstream) => {
    if (refusing) {
      downstream.destroy();
      return;
    }
    const upstream = net.connect(target);
    open.add(downstream).add(upstream);
    const drop = () => {
      downstream.destroy();
      upstream.destroy();
      open.delete(downstream);
      open.delete(upstream);
    };
    for (const s of [downstream, upstream]) s.on('error', drop).on('close', drop);
    downstream.pipe(upstream);
    upstream.pipe(downstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    port,
    address: `127.0.0.1:${port}`,
    cut,
    down() {
      refusing = true;
      cut();
    },
    up() {
      refusing = false;
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
