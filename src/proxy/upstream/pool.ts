// Connections to upstreams, per host:port: an idle stack for reuse, a cap on how many may be
// open at once (requests beyond it wait their turn), and the one timer that enforces every
// deadline: a sweep every few milliseconds instead of a timer per request. The sweep also
// frees the connection of an exchange whose client has gone, so abandoned requests cannot
// pile up sockets.
import { eventNow } from "../event-clock.ts";
import { ClientGone } from "./errors.ts";
import { SOCKET_HANDLERS, UpstreamConnection, type ConnectionOwner, type Exchange } from "./connection.ts";

const SWEEP_MS = 10;
/** Idle connections are closed before common upstream keep-alive timeouts (Node's is 5 s) can race a reuse. */
const IDLE_MS = 4000;
const MAX_IDLE_PER_UPSTREAM = 256;
/** Open connections per upstream host:port unless configured (`--upstream-max-connections`). */
export const DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM = 1024;

export class ConnectTimedOut extends Error {}

/** A request waiting for a connection: being connected, or queued behind the cap. */
interface Waiter {
  readonly hostname: string;
  readonly port: number;
  readonly deadline: number;
  readonly exchange: Exchange;
  resolve(connection: UpstreamConnection): void;
  reject(error: Error): void;
  /** Gives up a connect in progress (timeout, client gone, shutdown). */
  cancel: ((error: Error) => void) | null;
}

/** What the pool holds for one host:port. */
class Upstream {
  /** Connections counted against the cap: connecting, busy or idle. */
  open = 0;
  readonly idle: UpstreamConnection[] = [];
  readonly queue: Waiter[] = [];
}

export class ConnectionPool implements ConnectionOwner {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly waiting = new Set<UpstreamConnection>();
  private readonly connecting = new Set<Waiter>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private idleCount = 0;
  private queuedCount = 0;

  constructor(
    private readonly maxPerUpstream = DEFAULT_MAX_CONNECTIONS_PER_UPSTREAM,
    /** Milliseconds; tests pass their own to move time. */
    readonly now: () => number = eventNow,
  ) {}

  /** An idle connection to `key`, or null when there is none. */
  take(key: string): UpstreamConnection | null {
    const connection = this.upstreams.get(key)?.idle.pop() ?? null;
    if (connection) this.idleCount--;
    return connection;
  }

  /** A new connection for `exchange`, at once or once the upstream is under its cap. */
  connect(key: string, hostname: string, port: number, timeoutMs: number, exchange: Exchange): Promise<UpstreamConnection> {
    this.ensureSweeping();
    const upstream = this.upstreamOf(key);
    return new Promise<UpstreamConnection>((resolve, reject) => {
      const waiter: Waiter = { hostname, port, deadline: this.now() + timeoutMs, exchange, resolve, reject, cancel: null };
      if (upstream.open < this.maxPerUpstream) this.open(key, upstream, waiter);
      else {
        upstream.queue.push(waiter);
        this.queuedCount++;
      }
    });
  }

  release(connection: UpstreamConnection): void {
    const upstream = this.upstreamOf(connection.poolKey);
    const next = this.dequeue(upstream);
    if (next) {
      next.resolve(connection);
      return;
    }
    connection.idleSince = this.now();
    upstream.idle.push(connection);
    this.idleCount++;
    if (upstream.idle.length > MAX_IDLE_PER_UPSTREAM) upstream.idle[0]!.destroy();
  }

  discard(connection: UpstreamConnection): void {
    if (connection.discarded) return;
    connection.discarded = true;
    this.waiting.delete(connection);
    const upstream = this.upstreams.get(connection.poolKey);
    if (!upstream) return;
    upstream.open--;
    const at = upstream.idle.indexOf(connection);
    if (at >= 0) {
      upstream.idle.splice(at, 1);
      this.idleCount--;
    }
    const next = this.dequeue(upstream);
    if (next) this.open(connection.poolKey, upstream, next);
    else if (upstream.open === 0) this.upstreams.delete(connection.poolKey);
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
    for (const upstream of [...this.upstreams.values()]) while (upstream.idle.length > 0) upstream.idle[0]!.destroy();
  }

  /** Ends every exchange and closes every connection (when the drain's grace period is over). */
  closeAll(): void {
    for (const connection of [...this.waiting]) connection.abandon(new ClientGone());
    for (const waiter of [...this.connecting]) waiter.cancel?.(new ClientGone());
    for (const upstream of this.upstreams.values()) for (const waiter of upstream.queue.splice(0)) waiter.reject(new ClientGone());
    this.queuedCount = 0;
    this.closeIdle();
  }

  /** How many connections to `key` count against its cap (for tests and metrics). */
  openCount(key: string): number {
    return this.upstreams.get(key)?.open ?? 0;
  }

  private upstreamOf(key: string): Upstream {
    let upstream = this.upstreams.get(key);
    if (!upstream) this.upstreams.set(key, (upstream = new Upstream()));
    return upstream;
  }

  /** The next waiter whose client is still there; those that left are answered on the way. */
  private dequeue(upstream: Upstream): Waiter | undefined {
    const now = this.now();
    for (let next = upstream.queue.shift(); next; next = upstream.queue.shift()) {
      this.queuedCount--;
      if (!next.exchange.abandoned(now)) return next;
      next.reject(new ClientGone());
    }
    return undefined;
  }

  /**
   * Connects for `waiter`. The connection counts against the cap until its socket is gone, also
   * when the waiter gave up first: an abandoned connect still holds a socket at the upstream.
   */
  private open(key: string, upstream: Upstream, waiter: Waiter): void {
    upstream.open++;
    const connection = new UpstreamConnection(key, this);
    this.connecting.add(waiter);
    let answered = false;
    const answer = (): boolean => {
      if (answered) return false;
      answered = true;
      this.connecting.delete(waiter);
      return true;
    };
    waiter.cancel = (error) => {
      if (answer()) waiter.reject(error);
    };
    Bun.connect<UpstreamConnection>({ hostname: waiter.hostname, port: waiter.port, data: connection, socket: SOCKET_HANDLERS }).then(
      (socket) => {
        connection.socket = socket;
        if (!answer()) {
          connection.destroy();
          return;
        }
        socket.setNoDelay(true);
        waiter.resolve(connection);
      },
      (error: Error) => {
        this.discard(connection);
        if (answer()) waiter.reject(error);
      },
    );
  }

  private ensureSweeping(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  private sweep(): void {
    const now = this.now();
    for (const connection of this.waiting) {
      if (connection.deadline <= now) connection.timedOut();
      else if (connection.isAbandoned(now)) connection.abandon(new ClientGone());
    }
    for (const waiter of this.connecting) {
      if (waiter.deadline <= now) waiter.cancel?.(new ConnectTimedOut());
      else if (waiter.exchange.abandoned(now)) waiter.cancel?.(new ClientGone());
    }
    if (this.queuedCount > 0) this.sweepQueues(now);
    if (this.idleCount > 0) {
      for (const upstream of this.upstreams.values()) {
        while (upstream.idle.length > 0 && now - upstream.idle[0]!.idleSince > IDLE_MS) upstream.idle[0]!.destroy();
      }
    }
    if (this.waiting.size === 0 && this.connecting.size === 0 && this.idleCount === 0 && this.queuedCount === 0) {
      clearInterval(this.timer!);
      this.timer = null;
    }
  }

  private sweepQueues(now: number): void {
    for (const upstream of this.upstreams.values()) {
      if (upstream.queue.length === 0) continue;
      const kept: Waiter[] = [];
      for (const waiter of upstream.queue) {
        if (waiter.deadline <= now) waiter.reject(new ConnectTimedOut());
        else if (waiter.exchange.abandoned(now)) waiter.reject(new ClientGone());
        else kept.push(waiter);
      }
      this.queuedCount -= upstream.queue.length - kept.length;
      upstream.queue.splice(0, upstream.queue.length, ...kept);
    }
  }
}
