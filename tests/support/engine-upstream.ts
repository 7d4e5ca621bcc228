// A raw TCP upstream for the engine parity test: records every byte each connection sends it
// and answers each complete request with bytes the test scripts. Two gateways share it; the
// test names whose turn it is (`owner`), and each connection belongs to the gateway whose turn
// it was when the connection opened, numbered in the order that gateway opened them.
import net from "node:net";
import { type MessageHead, readHead, requestEnd } from "./engine-framing.ts";

export interface ReplyWriter {
  write(bytes: string): void;
  /** Ends the connection after what was written (a close-delimited body, or a refusal). */
  end(): void;
}

/** Answers one request (the head, and the whole request as received); writes nothing for a request left unanswered. */
export type Script = (head: MessageHead, request: string, reply: ReplyWriter) => void;

/** Bytes one connection sent in a row; `connection` names it relative to the gateway whose turn it is. */
export interface Received {
  connection: string;
  bytes: string;
}

export interface RecordingUpstream {
  port: number;
  /** Whose turn it is: connections opened from now on are this gateway's. */
  owner: string;
  /** What arrived since the last call, by connection in order of arrival. */
  take(): Received[];
  /** Waits until no byte has arrived for `quietMs`. */
  settle(quietMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRecordingUpstream(script: Script): Promise<RecordingUpstream> {
  let owner = "";
  let log: Received[] = [];
  let lastByteAt = 0;
  const opened = new Map<string, number>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const count = (opened.get(owner) ?? 0) + 1;
    opened.set(owner, count);
    const label = `${owner}#${count}`;
    let buffered = "";
    let continued = false;
    const reply: ReplyWriter = { write: (bytes) => void socket.write(bytes, "latin1"), end: () => void socket.end() };
    socket.on("data", (chunk: Buffer) => {
      const text = chunk.toString("latin1");
      lastByteAt = performance.now();
      // The line names the connection relative to the gateway whose turn it is, so one gateway
      // reusing another's connection shows up as a difference.
      const connection = label.startsWith(`${owner}#`) ? label.slice(owner.length + 1) : `${label} (another gateway's)`;
      const last = log[log.length - 1];
      if (last?.connection === connection) last.bytes += text;
      else log.push({ connection, bytes: text });
      buffered += text;
      for (;;) {
        const end = requestEnd(buffered, 0);
        if (end.kind !== "complete") {
          // As a real server does: a request that waits for leave to send its body gets it once.
          const head = readHead(buffered, 0);
          if (!continued && head?.headers.get("expect")?.[0]?.toLowerCase() === "100-continue") {
            continued = true;
            reply.write("HTTP/1.1 100 Continue\r\n\r\n");
          }
          break;
        }
        const request = buffered.slice(0, end.end);
        buffered = buffered.slice(end.end);
        continued = false;
        script(end.head, request, reply);
      }
    });
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get owner() {
      return owner;
    },
    set owner(name: string) {
      owner = name;
    },
    take() {
      const taken = log;
      log = [];
      return taken;
    },
    async settle(quietMs) {
      while (performance.now() - lastByteAt < quietMs) await Bun.sleep(5);
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
