// Real WebSocket upstreams on loopback for the proxy's tests: a Bun.serve one (uWebSockets'
// framing) and a Node `http` one whose RFC 6455 handshake and framing are written out by hand
// here, in a separate `node` process, so the gateway is checked against a second implementation.
import { type Server, type ServerWebSocket, type TLSOptions, spawn } from "bun";

/** What the Bun upstream saw of one session. */
export interface UpstreamSession {
  path: string;
  query: string;
  headers: Record<string, string>;
  closed: Promise<{ code: number; reason: string }>;
  pings: string[];
  pongs: string[];
  ws: ServerWebSocket<SessionData> | null;
}

interface SessionData {
  session: UpstreamSession;
  closed: (close: { code: number; reason: string }) => void;
}

export interface BunWebSocketUpstream {
  port: number;
  url: string;
  sessions: UpstreamSession[];
  /** The next session to open. */
  nextSession(): Promise<UpstreamSession>;
  stop(): Promise<void>;
}

/**
 * Echoes each message with its type. Text commands: `headers` (the upgrade request's headers as
 * JSON), `close CODE REASON`, `ping PAYLOAD`, `burst N` (N numbered text messages),
 * `flood N BYTES` (N binary messages, then text `flooded BUFFERED` with what Bun still held),
 * `pause MS` (stop reading for MS ms), `terminate` (drop the connection without a Close frame),
 * `silence` (no reply). Paths: `/refuse` answers 403 with a JSON body; `/protocol` picks the
 * last offered sub-protocol.
 */
export function startBunWebSocketUpstream(tls?: TLSOptions): BunWebSocketUpstream {
  const sessions: UpstreamSession[] = [];
  const waiting: ((session: UpstreamSession) => void)[] = [];
  const server: Server<SessionData> = Bun.serve<SessionData>({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    fetch(request, srv) {
      const { pathname: path, search: query } = new URL(request.url);
      if (path.endsWith("/refuse")) return Response.json({ message: "the upstream says no" }, { status: 403, headers: { "x-upstream": "refused" } });
      let closed!: SessionData["closed"];
      const session: UpstreamSession = { path, query, headers: Object.fromEntries(request.headers), closed: new Promise((resolve) => (closed = resolve)), pings: [], pongs: [], ws: null };
      const offered = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim()).filter(Boolean);
      const headers: Record<string, string> = { "x-upstream": "bun" };
      if (path.endsWith("/protocol") && offered.length > 0) headers["sec-websocket-protocol"] = offered[offered.length - 1]!;
      if (srv.upgrade(request, { data: { session, closed }, headers })) return undefined;
      return new Response("not a websocket", { status: 400 });
    },
    websocket: {
      maxPayloadLength: 32 * 1024 * 1024,
      // Room for the flood command to queue what the gateway does not take.
      backpressureLimit: 256 * 1024 * 1024,
      idleTimeout: 0,
      sendPings: false,
      open(ws) {
        ws.data.session.ws = ws;
        sessions.push(ws.data.session);
        waiting.shift()?.(ws.data.session);
      },
      message(ws, message) {
        if (typeof message !== "string") return void ws.send(message);
        const [command, ...args] = message.split(" ");
        if (command === "headers") ws.send(JSON.stringify(ws.data.session.headers));
        else if (command === "close") ws.close(Number(args[0]), args.slice(1).join(" "));
        else if (command === "ping") ws.ping(args[0]);
        else if (command === "terminate") ws.terminate();
        else if (command === "pause") {
          ws.pause();
          setTimeout(() => ws.resume(), Number(args[0]));
        }
        else if (command === "burst") for (let i = 0; i < Number(args[0]); i++) ws.send(`u${i}`);
        else if (command === "flood") {
          const chunk = new Uint8Array(Number(args[1]));
          let most = 0;
          for (let i = 0; i < Number(args[0]); i++) {
            chunk[0] = i;
            ws.send(chunk);
            most = Math.max(most, ws.getBufferedAmount());
          }
          ws.send(`flooded ${most}`);
        } else if (command !== "silence") ws.send(message);
      },
      ping(ws, data) {
        ws.data.session.pings.push(data.toString());
      },
      pong(ws, data) {
        ws.data.session.pongs.push(data.toString());
      },
      close(ws, code, reason) {
        ws.data.closed({ code, reason });
      },
    },
  });
  return {
    port: server.port!,
    url: `${tls ? "https" : "http"}://127.0.0.1:${server.port}`,
    sessions,
    nextSession: () => new Promise((resolve) => waiting.push(resolve)),
    stop: () => server.stop(true),
  };
}

/** The Node upstream: what it printed (one JSON object a line), and its address. */
export interface NodeWebSocketUpstream {
  port: number;
  url: string;
  /** The next line it prints that has `key`. */
  next(key: string): Promise<Record<string, unknown>>;
  stop(): Promise<void>;
}

// Echoes text and binary; text `close CODE REASON` makes it close with that code; a Close frame
// from the gateway is printed and answered with the same payload. `/refuse` answers 403.
const NODE_SCRIPT = String.raw`
const http = require("node:http");
const crypto = require("node:crypto");
const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const print = (value) => process.stdout.write(JSON.stringify(value) + "\n");
function frame(opcode, payload) {
  const length = payload.length;
  const head = length < 126 ? Buffer.from([0x80 | opcode, length]) : length < 65536 ? Buffer.from([0x80 | opcode, 126, length >> 8, length & 255]) : Buffer.alloc(10);
  if (length >= 65536) { head[0] = 0x80 | opcode; head[1] = 127; head.writeBigUInt64BE(BigInt(length), 2); }
  return Buffer.concat([head, payload]);
}
const server = http.createServer((req, res) => { res.writeHead(426, { "content-type": "application/json" }); res.end('{"message":"upgrade required"}'); });
server.on("upgrade", (req, socket, head) => {
  if (req.url.endsWith("/refuse")) {
    const body = '{"message":"node says no"}';
    socket.end("HTTP/1.1 403 Forbidden\r\ncontent-type: application/json\r\ncontent-length: " + body.length + "\r\n\r\n" + body);
    return;
  }
  const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + GUID).digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + accept + "\r\n\r\n");
  print({ upgrade: req.url, headers: req.headers });
  let buffer = head;
  socket.on("data", (data) => {
    buffer = Buffer.concat([buffer, data]);
    for (;;) {
      if (buffer.length < 2) return;
      const opcode = buffer[0] & 15, masked = buffer[1] & 128;
      let length = buffer[1] & 127, at = 2;
      if (length === 126) { if (buffer.length < 4) return; length = buffer.readUInt16BE(2); at = 4; }
      else if (length === 127) { if (buffer.length < 10) return; length = Number(buffer.readBigUInt64BE(2)); at = 10; }
      if (!masked) { print({ error: "unmasked frame from the client" }); socket.destroy(); return; }
      if (buffer.length < at + 4 + length) return;
      const mask = buffer.subarray(at, at + 4);
      const payload = Buffer.from(buffer.subarray(at + 4, at + 4 + length));
      for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
      buffer = buffer.subarray(at + 4 + length);
      if (opcode === 8) {
        print({ closed: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString() });
        socket.end(frame(8, payload));
        return;
      }
      if (opcode === 9) { socket.write(frame(10, payload)); continue; }
      if (opcode === 1 && payload.toString().startsWith("close ")) {
        const [, code, ...reason] = payload.toString().split(" ");
        const close = Buffer.alloc(2); close.writeUInt16BE(Number(code));
        socket.write(frame(8, Buffer.concat([close, Buffer.from(reason.join(" "))])));
        continue;
      }
      socket.write(frame(opcode, payload));
    }
  });
  socket.on("error", () => {});
});
server.listen(0, "127.0.0.1", () => print({ port: server.address().port }));
process.on("SIGTERM", () => process.exit(0));
`;

export async function startNodeWebSocketUpstream(): Promise<NodeWebSocketUpstream> {
  const child = spawn(["node", "-e", NODE_SCRIPT], { stdout: "pipe", stderr: "inherit" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const lines: Record<string, unknown>[] = [];
  const waiting: { key: string; resolve: (line: Record<string, unknown>) => void }[] = [];
  let text = "";
  const deliver = () => {
    for (let i = 0; i < waiting.length; i++) {
      const found = lines.findIndex((line) => waiting[i]!.key in line);
      if (found < 0) continue;
      waiting[i]!.resolve(lines.splice(found, 1)[0]!);
      waiting.splice(i--, 1);
    }
  };
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
      let newline: number;
      while ((newline = text.indexOf("\n")) >= 0) {
        lines.push(JSON.parse(text.slice(0, newline)));
        text = text.slice(newline + 1);
      }
      deliver();
    }
  })();
  const next = (key: string) =>
    new Promise<Record<string, unknown>>((resolve) => {
      waiting.push({ key, resolve });
      deliver();
    });
  const { port } = (await next("port")) as { port: number };
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    next,
    async stop() {
      child.kill();
      await child.exited;
    },
  };
}
