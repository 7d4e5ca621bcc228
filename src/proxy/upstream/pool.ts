// Keep-alive connections to upstreams, one idle stack per host:port, and the one timer that
// enforces every deadline: a sweep every few milliseconds instead of a timer per request.
import { SOCKET_HANDLERS, UpstreamConnection, type ConnectionOwner } from "./connection.ts";

const SWEEP_MS = 10;
/** Idle connections are closed before common upstream keep-alive timeouts (Node's is 5 s) can race a reuse. */
const IDLE_MS = 4000;
const MAX_IDLE_PER_UPSTREAM = 256;

export class ConnectTimedOut extends Error {}

interface PendingConnect {
  deadline: number;
  reject(error: Error): void;
}

class ConnectionPool implements ConnectionOwner {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly waiting = new Set<UpstreamConnection>();
  private readonly connecting = new Set<PendingConnect>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private idleCount = 0;

  /** An idle connection to `key`, or null when there is none. */
  take(key: string): UpstreamConnection | null {
    const stack = this.idle.get(key);
    const connection = stack?.pop() ?? null;
    if (connection) this.idleCount--;
    return connection;
  }

  connect(key: string, hostname: string, port: number, timeoutMs: number): Promise<UpstreamConnection> {
    this.ensureSweeping();
    const connection = new UpstreamConnection(key, this);
    return new Promise<UpstreamConnection>((resolve, reject) => {
      let settled = false;
      const pending: PendingConnect = {
        deadline: performance.now() + timeoutMs,
        reject: (error) => {
          settled = true;
          this.connecting.delete(pending);
          reject(error);
        },
      };
      this.connecting.add(pending);
      Bun.connect<UpstreamConnection>({ hostname, port, data: connection, socket: SOCKET_HANDLERS }).then(
        (socket) => {
          if (settled) {
            socket.terminate();
            return;
          }
          settled = true;
          this.connecting.delete(pending);
          socket.setNoDelay(true);
          connection.socket = socket;
          resolve(connection);
        },
        (error: Error) => {
          if (!settled) pending.reject(error);
        },
      );
    });
  }

  release(connection: UpstreamConnection): void {
    let stack = this.idle.get(connection.poolKey);
    if (!stack) this.idle.set(connection.poolKey, (stack = []));
    connection.idleSince = performance.now();
    stack.push(connection);
    this.idleCount++;
    if (stack.length > MAX_IDLE_PER_UPSTREAM) stack[0]!.destroy();
  }

  discard(connection: UpstreamConnection): void {
    this.waiting.delete(connection);
    const stack = this.idle.get(connection.poolKey);
    const at = stack ? stack.indexOf(connection) : -1;
    if (at >= 0) {
      stack!.splice(at, 1);
      this.idleCount--;
    }
  }

  watch(connection: UpstreamConnection): void {
    this.waiting.add(connection);
    this.ensureSweeping();
  }

  unwatch(connection: UpstreamConnection): void {
    this.waiting.delete(connection);
  }

  /** Closes every idle connection (on shutdown); connections in use finish their exchange. */
  closeIdle(): void {
    for (const stack of this.idle.values()) while (stack.length > 0) stack[0]!.destroy();
  }

  private ensureSweeping(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  private sweep(): void {
    const now = performance.now();
    for (const connection of this.waiting) if (connection.deadline <= now) connection.timedOut();
    for (const pending of this.connecting) if (pending.deadline <= now) pending.reject(new ConnectTimedOut());
    if (this.idleCount > 0) {
      for (const stack of this.idle.values()) {
        while (stack.length > 0 && now - stack[0]!.idleSince > IDLE_MS) stack[0]!.destroy();
      }
    }
    if (this.waiting.size === 0 && this.connecting.size === 0 && this.idleCount === 0) {
      clearInterval(this.timer!);
      this.timer = null;
    }
  }
}

export const upstreamPool = new ConnectionPool();
