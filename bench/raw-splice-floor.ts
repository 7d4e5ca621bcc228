// The yardstick for the raw engine's cost per request (issue 20): the least a Bun.listen proxy
// must do for a bodiless request to one keep-alive upstream — read a head, add X-Forwarded-* and
// a request id, send it on a pooled Bun.connect socket, and write the upstream's head (with the
// request id and a Date) and its Content-Length body back in one write. No routing, no
// plugins, no chunked bodies, no pipelining: whatever the raw engine costs above this is its own.
//   bun bench/raw-splice-floor.ts serve --proxy-listen 127.0.0.1:9601 [--upstream 127.0.0.1:9001]
// (other `serve` flags are ignored, so bench/engines.sh can run it as BIN through a wrapper).
// `--bare`: the runtime's own floor instead — each client gets its own upstream connection and
// bytes pass both ways untouched (no parsing, no header, no pool).
import type { Socket } from "bun";

const argv = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const at = argv.indexOf(name);
  return at >= 0 && argv[at + 1] ? argv[at + 1]! : fallback;
};
const [listenHost, listenPort] = flag("--proxy-listen", "127.0.0.1:9601").split(":") as [string, string];
const [upstreamHost, upstreamPort] = flag("--upstream", "127.0.0.1:9001").split(":") as [string, string];

const HEAD_END = Buffer.from("\r\n\r\n");
let dateSecond = 0;
let dateLine = "";
function dateHeader(): string {
  const now = Date.now();
  const second = (now / 1000) | 0;
  if (second !== dateSecond) {
    dateSecond = second;
    dateLine = `date: ${new Date(now).toUTCString()}\r\n`;
  }
  return dateLine;
}

let requestCounter = 0;
const requestIdPrefix = crypto.randomUUID().slice(0, 24);

interface Client {
  socket: Socket<Client>;
  buffer: Buffer | null;
  requestId: string;
  deadline: number;
}

interface Upstream {
  socket: Socket<Upstream> | null;
  client: Client | null;
  buffer: Buffer | null;
  /** Body bytes still to come after the head, or -1 while the head is incomplete. */
  remaining: number;
}

const idle: Upstream[] = [];
const clients = new Set<Client>();

function withUpstream(client: Client, use: (upstream: Upstream) => void): void {
  const pooled = idle.pop();
  if (pooled) return use(pooled);
  const upstream: Upstream = { socket: null, client: null, buffer: null, remaining: -1 };
  void Bun.connect<Upstream>({
    hostname: upstreamHost,
    port: Number(upstreamPort),
    data: upstream,
    socket: {
      open(socket) {
        socket.setNoDelay(true);
        upstream.socket = socket;
        use(upstream);
      },
      data(_socket, bytes) {
        upstreamData(upstream, bytes);
      },
      close() {
        upstream.socket = null;
        const at = idle.indexOf(upstream);
        if (at >= 0) idle.splice(at, 1);
        upstream.client?.socket.end();
      },
      error() {},
    },
  }).catch(() => client.socket.end());
}

function upstreamData(upstream: Upstream, bytes: Buffer): void {
  const client = upstream.client;
  if (client === null) return;
  if (upstream.remaining >= 0) {
    client.socket.write(bytes);
    upstream.remaining -= bytes.length;
    if (upstream.remaining <= 0) done(upstream);
    return;
  }
  const buffer = upstream.buffer ? Buffer.concat([upstream.buffer, bytes]) : bytes;
  const end = buffer.indexOf(HEAD_END);
  if (end < 0) {
    upstream.buffer = buffer;
    return;
  }
  upstream.buffer = null;
  const text = buffer.toString("latin1", 0, end);
  const lineEnd = text.indexOf("\r\n");
  let head = text.slice(0, lineEnd + 2);
  let length = 0;
  for (let at = lineEnd + 2; at < text.length; ) {
    let next = text.indexOf("\r\n", at);
    if (next < 0) next = text.length;
    const line = text.slice(at, next);
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    if (name === "content-length") length = Number(line.slice(colon + 1).trim());
    if (name !== "connection" && name !== "keep-alive" && name !== "date") head += `${name}: ${line.slice(colon + 1).trim()}\r\n`;
    at = next + 2;
  }
  head += `x-request-id: ${client.requestId}\r\n${dateHeader()}\r\n`;
  const body = buffer.subarray(end + 4);
  client.socket.write(Buffer.concat([Buffer.from(head, "latin1"), body]));
  upstream.remaining = length - body.length;
  if (upstream.remaining <= 0) done(upstream);
}

function done(upstream: Upstream): void {
  const client = upstream.client!;
  upstream.client = null;
  upstream.remaining = -1;
  idle.push(upstream);
  client.deadline = performance.now() + 120_000;
  if (client.buffer) clientData(client, Buffer.alloc(0));
}

function clientData(client: Client, bytes: Buffer): void {
  const buffer = client.buffer && client.buffer.length > 0 ? Buffer.concat([client.buffer, bytes]) : bytes;
  const end = buffer.indexOf(HEAD_END);
  if (end < 0) {
    client.buffer = buffer;
    return;
  }
  client.buffer = end + 4 < buffer.length ? buffer.subarray(end + 4) : null;
  const text = buffer.toString("latin1", 0, end);
  const lineEnd = text.indexOf("\r\n");
  const requestLine = text.slice(0, lineEnd);
  const space = requestLine.indexOf(" ");
  const target = requestLine.slice(space + 1, requestLine.lastIndexOf(" "));
  let head = `${requestLine.slice(0, space)} ${target} HTTP/1.1\r\nhost: ${upstreamHost}:${upstreamPort}\r\n`;
  let clientHost = "";
  let requestId = "";
  for (let at = lineEnd + 2; at < text.length; ) {
    let next = text.indexOf("\r\n", at);
    if (next < 0) next = text.length;
    const line = text.slice(at, next);
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "host") clientHost = value;
    else if (name === "x-request-id") requestId = value;
    else if (name !== "connection" && name !== "keep-alive") head += `${name}: ${value}\r\n`;
    at = next + 2;
  }
  client.requestId = requestId || `${requestIdPrefix}${(++requestCounter).toString(16).padStart(12, "0")}`;
  const peer = client.socket.remoteAddress;
  head += `x-forwarded-for: ${peer}\r\nx-forwarded-proto: http\r\nx-forwarded-host: ${clientHost}\r\nx-forwarded-port: ${listenPort}\r\nx-real-ip: ${peer}\r\nx-request-id: ${client.requestId}\r\n\r\n`;
  client.deadline = 0;
  withUpstream(client, (upstream) => {
    upstream.client = client;
    upstream.socket!.write(head);
  });
}

function listenBare(): void {
  Bun.listen<{ upstream: Socket<unknown> | null; early: Buffer[] }>({
    hostname: listenHost,
    port: Number(listenPort),
    socket: {
      open(client) {
        client.setNoDelay(true);
        client.data = { upstream: null, early: [] };
        void Bun.connect({
          hostname: upstreamHost,
          port: Number(upstreamPort),
          socket: {
            open(upstream) {
              upstream.setNoDelay(true);
              client.data.upstream = upstream;
              for (const bytes of client.data.early) upstream.write(bytes);
            },
            data(_upstream, bytes) {
              client.write(bytes);
            },
            close() {
              client.end();
            },
            error() {},
          },
        }).catch(() => client.end());
      },
      data(client, bytes) {
        if (client.data.upstream) client.data.upstream.write(bytes);
        else client.data.early.push(Buffer.from(bytes));
      },
      close(client) {
        client.data.upstream?.end();
      },
      error() {},
    },
  });
}

if (argv.includes("--bare")) listenBare();
else Bun.listen<Client>({
  hostname: listenHost,
  port: Number(listenPort),
  socket: {
    open(socket) {
      socket.setNoDelay(true);
      const client: Client = { socket, buffer: null, requestId: "", deadline: performance.now() + 120_000 };
      socket.data = client;
      clients.add(client);
    },
    data(socket, bytes) {
      clientData(socket.data, bytes);
    },
    close(socket) {
      clients.delete(socket.data);
    },
    error() {},
  },
});

// One sweep a second for every client's idle deadline, as the raw engine's listener does.
setInterval(() => {
  const now = performance.now();
  for (const client of clients) if (client.deadline !== 0 && client.deadline < now) client.socket.end();
}, 1000);
