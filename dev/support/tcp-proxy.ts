/**
 * A TCP forwarder on a free loopback port that a test can cut at an exact moment: `cut()` drops every
 * open connection (nothing written after it reaches the server), `down()` also refuses new ones until
 * `up()`, and `hold()` accepts new ones but forwards nothing until `release()` (a server that has not
 * greeted yet: the client sits inside its SMTP transaction). Sockets are destroyed, not reset: on Node 20 a `resetAndDestroy()` socket can keep the process
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
  /** Accepts new connections but connects them to the target only at release() (open ones carry on). */
  hold(): void;
  release(): void;
  /** Connections accepted while held and not yet released (or closed by the client). */
  readonly held: number;
  close(): Promise<void>;
}

/** Starts forwarding 127.0.0.1:<free port> to the target. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const open = new Set<net.Socket>();
  let refusing = false;
  const waiting = new Set<net.Socket>();
  const forward = (downstream: net.Socket) => {
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
  };
  let holding = false;
  const server = net.createServer((downstream) => {
    if (refusing) {
      downstream.destroy();
      return;
    }
    if (!holding) return forward(downstream);
    waiting.add(downstream);
    downstream.on('error', () => downstream.destroy()).on('close', () => waiting.delete(downstream));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  const cut = () => {
    for (const s of [...open, ...waiting]) s.destroy();
    open.clear();
    waiting.clear();
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
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      const released = [...waiting].filter((s) => !s.destroyed);
      waiting.clear();
      for (const s of released) forward(s);
    },
    get held() {
      return [...waiting].filter((s) => !s.destroyed).length;
    },
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
