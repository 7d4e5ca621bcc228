// A raw HTTP/1.x client for the engine parity test: writes exactly the bytes a case gives,
// in the steps it gives, and keeps every byte the gateway sends back, with whether the
// gateway closed the connection.
import net from "node:net";
import { responseEnd, statusOf } from "./engine-framing.ts";

export type ClientStep =
  | string
  /** Waits for the gateway's next bytes (an interim `100 Continue`), at most `ms`. */
  | { waitForBytes: number }
  /** Waits until this many final responses have arrived in all. */
  | { responses: number };

export interface ClientResult {
  /** Every byte received, latin1. */
  received: string;
  /** Final statuses, in order (interim 1xx left out). */
  statuses: number[];
  /** Whether the gateway closed the connection (within `closeWaitMs` of the last response). */
  closed: boolean;
  /** Set when the expected responses did not all arrive in time. */
  timedOut: boolean;
}

export interface ExchangeOptions {
  /** The gateway's address; the client always connects from 127.0.0.1. */
  host: string;
  port: number;
  /** One method per request sent, in order: a response to HEAD has no body. */
  methods: string[];
  timeoutMs?: number;
  closeWaitMs?: number;
}

export async function exchange(steps: ClientStep[], options: ExchangeOptions): Promise<ClientResult> {
  const { methods, timeoutMs = 5000, closeWaitMs = 100 } = options;
  const socket = net.connect({ host: options.host, port: options.port, localAddress: "127.0.0.1" });
  let received = "";
  let parsedTo = 0;
  let closed = false;
  const statuses: number[] = [];
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  // Consumes every response complete so far; a close-delimited body ends with the connection.
  const parse = () => {
    while (statuses.length < methods.length) {
      const end = responseEnd(received, parsedTo, methods[statuses.length]!);
      if (end.kind === "incomplete") return;
      if (end.kind === "until-close") {
        if (!closed) return;
        statuses.push(statusOf(end.head));
        parsedTo = received.length;
        return;
      }
      const status = statusOf(end.head);
      parsedTo = end.end;
      if (status >= 100 && status < 200 && status !== 101) continue;
      statuses.push(status);
    }
  };
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
    parse();
    notify();
  });
  socket.on("close", () => {
    closed = true;
    parse();
    notify();
  });
  socket.on("error", () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });

  const deadline = performance.now() + timeoutMs;
  /** Waits until `ready` holds or `until` passes; false on the deadline. */
  const waitFor = async (ready: () => boolean, until: number): Promise<boolean> => {
    while (!ready()) {
      const left = until - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return true;
  };

  let timedOut = false;
  for (const step of steps) {
    if (typeof step === "string") {
      if (!closed) socket.write(step, "latin1");
    } else if ("waitForBytes" in step) {
      const before = received.length;
      await waitFor(() => received.length > before || closed, performance.now() + step.waitForBytes);
    } else if (!(await waitFor(() => statuses.length >= step.responses || closed, deadline))) {
      timedOut = true;
    }
  }
  if (!(await waitFor(() => statuses.length >= methods.length || closed, deadline))) timedOut = true;
  await waitFor(() => closed, performance.now() + closeWaitMs);
  socket.destroy();
  return { received, statuses, closed, timedOut };
}
