// Raw-byte test parts for the raw engine's security files: a client that writes exact bytes and
// collects the answer, and an upstream that records every byte it receives.
import { createConnection } from "node:net";

export interface Talk {
  /** Everything the gateway sent back (latin1). */
  raw: string;
  /** The gateway closed the connection. */
  closed: boolean;
}

/**
 * Writes each string step in turn (a number: waits that many ms), then collects answers until
 * the connection closes or `settleMs` passes; with `whole`, also once `whole(raw)` holds and
 * 100 ms went by without a byte.
 */
export async function talk(port: number, steps: (string | number)[], settleMs = 400, whole?: (raw: string) => boolean): Promise<Talk> {
  const socket = createConnection({ host: "127.0.0.1", port });
  const result: Talk = { raw: "", closed: false };
  let lastByte = 0;
  socket.on("data", (chunk: Buffer) => {
    result.raw += chunk.toString("latin1");
    lastByte = Date.now();
  });
  socket.on("close", () => (result.closed = true));
  socket.on("error", () => {});
  await new Promise((resolve) => socket.once("connect", resolve));
  for (const step of steps) {
    if (result.closed) break;
    if (typeof step === "number") await Bun.sleep(step);
    else socket.write(Buffer.from(step, "latin1"));
  }
  lastByte = Date.now();
  const deadline = Date.now() + settleMs;
  while (!result.closed && Date.now() < deadline && !(whole && Date.now() - lastByte >= 100 && whole(result.raw))) await Bun.sleep(20);
  socket.destroy();
  return result;
}

export interface ByteRecorder {
  url: string;
  /** Every byte received, all connections, in arrival order (latin1). */
  received: string;
  /** Request heads (up to and with the blank line) in arrival order. */
  heads: string[];
  stop(): void;
}

/**
 * An upstream that records every byte it receives and answers each request, once its body
 * (Content-Length or chunked) has all arrived, with `reply(method, path)`.
 */
export function startByteRecorder(reply: (method: string, path: string) => string | Uint8Array): ByteRecorder {
  const state: ByteRecorder = { url: "", received: "", heads: [], stop: () => listener.stop(true) };
  const listener = Bun.listen<{ buffer: string }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: "" };
      },
      data(socket, bytes) {
        const text = Buffer.from(bytes).toString("latin1");
        state.received += text;
        socket.data.buffer += text;
        for (;;) {
          const buffer = socket.data.buffer;
          const end = buffer.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buffer.slice(0, end + 4);
          const length = /\r\ncontent-length: *(\d+)/i.exec(head);
          let consumed = end + 4;
          if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
            const last = buffer.indexOf("0\r\n\r\n", end + 4);
            if (last < 0) return;
            consumed = last + 5;
          } else if (length) {
            if (buffer.length < end + 4 + Number(length[1])) return;
            consumed += Number(length[1]);
          }
          socket.data.buffer = buffer.slice(consumed);
          state.heads.push(head);
          const [method, path] = head.split(" ") as [string, string];
          socket.write(reply(method, path));
        }
      },
    },
  });
  state.url = `http://127.0.0.1:${listener.port}`;
  return state;
}
