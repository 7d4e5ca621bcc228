// WebSocket proxying through the plugin pipeline: the access phase decides the upgrade, then
// messages, pings, pongs and close codes are relayed both ways, against a Bun upstream and a
// Node upstream whose RFC 6455 side is written by hand.
import type { Socket } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type SigningKey, inSeconds, sign, signingKey } from "./support/auth.ts";
import { type TestGateway, startTestGateway, tempDir } from "./support/gateway.ts";
import { TestWebSocket, rawUpgradeHead, upgradeRequest } from "./support/websocket-client.ts";
import { type BunWebSocketUpstream, type NodeWebSocketUpstream, startBunWebSocketUpstream, startNodeWebSocketUpstream } from "./support/websocket-upstreams.ts";

let bun: BunWebSocketUpstream;
let node: NodeWebSocketUpstream;
let gateway: TestGateway;
let ws: string;
let hs: SigningKey;
let aliceToken: string;
let bobToken: string;
let logPath: string;

beforeAll(async () => {
  bun = startBunWebSocketUpstream();
  node = await startNodeWebSocketUpstream();
  logPath = join(tempDir(), "access.log");
  gateway = startTestGateway({ accessLog: logPath });
  ws = gateway.proxyUrl.replace("http:", "ws:");
  const { store } = gateway;
  store.create("services", { name: "bun", url: `${bun.url}/base` });
  store.create("services", { name: "node", url: node.url });
  store.create("services", { name: "quiet", url: bun.url, read_timeout: 300 });
  store.create("services", { name: "stalled", url: bun.url, write_timeout: 200 });
  // A port nothing listens on: the Bun upstream's, once it is stopped, is not known in advance.
  const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const downPort = closed.port;
  closed.stop(true);
  store.create("services", { name: "down", url: `http://127.0.0.1:${downPort}`, retries: 0 });
  store.create("routes", { name: "open", service: { name: "bun" }, paths: ["/open"] });
  store.create("routes", { name: "node", service: { name: "node" }, paths: ["/node"] });
  store.create("routes", { name: "quiet", service: { name: "quiet" }, paths: ["/quiet"] });
  store.create("routes", { name: "stalled", service: { name: "stalled" }, paths: ["/stalled"] });
  store.create("routes", { name: "down", service: { name: "down" }, paths: ["/down"] });
  const secured = store.create("routes", { name: "secured", service: { name: "bun" }, paths: ["/secured"] });
  const finance = store.create("routes", { name: "finance", service: { name: "bun" }, paths: ["/finance"] });

  hs = await signingKey("HS256");
  const alice = store.create("consumers", { username: "alice", custom_id: "a-1" });
  const bob = store.create("consumers", { username: "bob" });
  store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  store.create("jwt_secrets", { key: "bob-key", ...hs.credential }, { kind: "consumers", id: bob.id });
  store.create("acls", { group: "finance" }, { kind: "consumers", id: alice.id });
  const jwtConfig = { claims_to_verify: ["exp"], cookie_names: ["session"], claims_to_headers: { sub: "X-User-Sub" } };
  store.create("plugins", { name: "jwt", route: { id: secured.id }, config: jwtConfig });
  store.create("plugins", { name: "jwt", route: { id: finance.id }, config: jwtConfig });
  store.create("plugins", { name: "acl", route: { id: finance.id }, config: { allow: ["finance"] } });
  aliceToken = await sign(hs, { iss: "alice-key", sub: "alice-sub", exp: inSeconds(600) });
  bobToken = await sign(hs, { iss: "bob-key", sub: "bob-sub", exp: inSeconds(600) });
});

afterAll(async () => {
  await gateway.close();
  await bun.stop();
  await node.stop();
});

describe("relay", () => {
  test("text and binary messages (1 MiB too) are echoed through the gateway, path joined as for HTTP", async () => {
    const session = bun.nextSession();
    const client = await TestWebSocket.open(`${ws}/open/echo?x=1&y=%20`);
    expect(await session).toMatchObject({ path: "/base/echo", query: "?x=1&y=%20" });
    client.send("hello");
    expect(await client.next()).toBe("hello");
    const big = crypto.getRandomValues(new Uint8Array(1024 * 1024));
    client.send(big);
    const back = await client.next();
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(Buffer.compare(back as Buffer, Buffer.from(big))).toBe(0);
    const text = "ü".repeat(300_000);
    client.send(text);
    expect(await client.next()).toBe(text);
    await client.close(1000);
  });

  test("close codes and reasons travel both ways", async () => {
    let session = bun.nextSession();
    let client = await TestWebSocket.open(`${ws}/open`);
    client.send("close 4002 upstream is done");
    expect(await client.closed).toEqual({ code: 4002, reason: "upstream is done" });

    session = bun.nextSession();
    client = await TestWebSocket.open(`${ws}/open`);
    const upstream = await session;
    await client.close(4001, "client is done");
    expect(await upstream.closed).toEqual({ code: 4001, reason: "client is done" });
  });

  test("a connection dropped without a Close frame is dropped on the other side too (1006)", async () => {
    const fromUpstream = await TestWebSocket.open(`${ws}/open`);
    fromUpstream.send("terminate");
    expect((await fromUpstream.closed).code).toBe(1006);

    const session = bun.nextSession();
    const fromClient = await TestWebSocket.open(`${ws}/open`);
    const upstream = await session;
    fromClient.socket.terminate();
    expect((await upstream.closed).code).toBe(1006);
  });

  test("against a hand-written Node upstream: echo, and close codes both ways", async () => {
    const client = await TestWebSocket.open(`${ws}/node/chat`);
    expect(await node.next("upgrade")).toMatchObject({ upgrade: "/chat" });
    client.send("from the client");
    expect(await client.next()).toBe("from the client");
    const bytes = crypto.getRandomValues(new Uint8Array(1024 * 1024));
    client.send(bytes);
    expect(Buffer.compare((await client.next()) as Buffer, Buffer.from(bytes))).toBe(0);
    await client.close(4100, "bye node");
    expect(await node.next("closed")).toEqual({ closed: 4100, reason: "bye node" });

    const second = await TestWebSocket.open(`${ws}/node`);
    second.send("close 4200 node is done");
    expect(await second.closed).toEqual({ code: 4200, reason: "node is done" });
    // The gateway answers the upstream's Close with the same code, as RFC 6455 §5.5.1 asks.
    expect(await node.next("closed")).toEqual({ closed: 4200, reason: "node is done" });

    // A Close without a code (1005) reaches the upstream as one without a code.
    const third = await TestWebSocket.open(`${ws}/node`);
    await third.close();
    expect(await node.next("closed")).toEqual({ closed: 1005, reason: "" });
  });

  test("1,000 messages each way arrive complete and in order", async () => {
    const client = await TestWebSocket.open(`${ws}/open`);
    for (let i = 0; i < 1000; i++) client.send(`c${i}`);
    for (let i = 0; i < 1000; i++) expect(await client.next()).toBe(`c${i}`);
    client.send("burst 1000");
    for (let i = 0; i < 1000; i++) expect(await client.next()).toBe(`u${i}`);
    await client.close(1000);
  });

  test("pings and pongs are relayed: each end answers the other's ping", async () => {
    const session = bun.nextSession();
    const client = await TestWebSocket.open(`${ws}/open`);
    const upstream = await session;
    client.socket.ping("from-client");
    client.send("ping from-upstream");
    // The echo after each is a barrier: what was sent before it has been relayed.
    client.send("barrier");
    expect(await client.next()).toBe("barrier");
    await Bun.sleep(50);
    expect(upstream.pings).toEqual(["from-client"]);
    expect(client.pings).toEqual(["from-upstream"]);
    expect(upstream.pongs).toEqual(["from-upstream"]);
    await client.close(1000);
  });

  test("the upstream's sub-protocol choice reaches the client", async () => {
    const session = bun.nextSession();
    const client = await TestWebSocket.open(`${ws}/open/protocol`, { protocols: ["chat.v1", "chat.v2"] });
    expect((await session).headers["sec-websocket-protocol"]).toBe("chat.v1, chat.v2");
    expect(client.socket.protocol).toBe("chat.v2");
    await client.close(1000);
  });
});

describe("backpressure", () => {
  const MESSAGES = 48;
  const SIZE = 1024 * 1024;

  test("a client that stops reading stops the gateway reading the upstream; nothing is lost", async () => {
    const client = await TestWebSocket.open(`${ws}/open`);
    client.socket.pause();
    client.send(`flood ${MESSAGES} ${SIZE}`);
    await Bun.sleep(300);
    client.socket.resume();
    for (let i = 0; i < MESSAGES; i++) {
      const message = (await client.next()) as Buffer;
      expect([message.length, message[0]]).toEqual([SIZE, i]);
    }
    // What the upstream could not hand over waited in its own buffer, not in the gateway's.
    const most = Number((await client.nextText()).split(" ")[1]);
    expect(most).toBeGreaterThan(16 * SIZE);
    await client.close(1000);
  });

  test("an upstream that stops reading stops the gateway reading the client; nothing is lost", async () => {
    const client = await TestWebSocket.open(`${ws}/open`);
    client.send("pause 500");
    client.send("barrier");
    expect(await client.next()).toBe("barrier");
    const chunk = new Uint8Array(SIZE);
    for (let i = 0; i < MESSAGES; i++) {
      chunk[0] = i;
      client.send(chunk);
    }
    // Without backpressure the gateway would have read it all into its own memory within ~80 ms.
    await Bun.sleep(200);
    expect(client.socket.bufferedAmount).toBeGreaterThan(16 * SIZE);
    for (let i = 0; i < MESSAGES; i++) {
      const message = (await client.next()) as Buffer;
      expect([message.length, message[0]]).toEqual([SIZE, i]);
    }
    await client.close(1000);
  });
});

describe("access phase", () => {
  test("no token: the jwt plugin's 401 and JSON body, and no upstream session", async () => {
    const before = bun.sessions.length;
    const refused = await upgradeRequest(`${gateway.proxyUrl}/secured`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ message: "Unauthorized" });
    expect(bun.sessions.length).toBe(before);
  });

  test("a consumer outside the acl group: 403 and the acl plugin's body", async () => {
    const refused = await upgradeRequest(`${gateway.proxyUrl}/finance`, { authorization: `Bearer ${bobToken}` });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ message: "You cannot consume this service" });
  });

  test("token in the query: the upstream sees the identity and forwarding headers, not the client's copies", async () => {
    const session = bun.nextSession();
    const client = await TestWebSocket.open(`${ws}/finance?jwt=${aliceToken}`, {
      headers: { "x-consumer-id": "spoofed", "x-consumer-username": "mallory", "x-user-sub": "spoofed-sub", "x-forwarded-host": "evil.example", "x-custom": "kept" },
    });
    const { headers } = await session;
    const alice = gateway.store.get("consumers", "alice");
    expect(headers["x-consumer-id"]).toBe(alice.id);
    expect(headers["x-consumer-username"]).toBe("alice");
    expect(headers["x-consumer-custom-id"]).toBe("a-1");
    expect(headers["x-credential-identifier"]).toBe("alice-key");
    expect(headers["x-user-sub"]).toBe("alice-sub");
    expect(headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(headers["x-forwarded-host"]).toBe("127.0.0.1");
    expect(headers["x-forwarded-proto"]).toBe("http");
    expect(headers["x-forwarded-port"]).toBe(String(gateway.proxy.port));
    expect(headers["x-request-id"]).toBeString();
    expect(headers["x-custom"]).toBe("kept");
    expect(headers["sec-websocket-extensions"]).toBeUndefined();
    // Bun's client offers permessage-deflate; the gateway accepts no extension.
    expect(client.socket.extensions).toBe("");
    await client.close(1000);
  });

  test("hide_credentials: the token's query parameter is not passed on, the rest of the query is", async () => {
    const hidden = gateway.store.create("routes", { name: "hidden", service: { name: "bun" }, paths: ["/hidden"] });
    gateway.store.create("plugins", { name: "jwt", route: { id: hidden.id }, config: { hide_credentials: true } });
    const client = await TestWebSocket.open(`${ws}/hidden/room?a=1&jwt=${aliceToken}&b=2`);
    client.send("headers");
    const seen = JSON.parse(await client.nextText()) as Record<string, string>;
    expect(seen["x-consumer-username"]).toBe("alice");
    expect(bun.sessions.at(-1)).toMatchObject({ path: "/base/room", query: "?a=1&b=2" });
    await client.close(1000);
  });

  test("token in a cookie", async () => {
    const session = bun.nextSession();
    const client = await TestWebSocket.open(`${ws}/secured`, { headers: { cookie: `session=${aliceToken}` } });
    expect((await session).headers["x-consumer-username"]).toBe("alice");
    client.send("through");
    expect(await client.next()).toBe("through");
    await client.close(1000);
  });

  test("rate-limiting counts upgrades: its headers on the 101, its 429 past the limit", async () => {
    const limited = gateway.store.create("routes", { name: "limited", service: { name: "bun" }, paths: ["/limited"] });
    gateway.store.create("plugins", { name: "rate-limiting", route: { id: limited.id }, config: { minute: 2, policy: "local" } });
    const first = await rawUpgradeHead(gateway.proxy.port, "/limited");
    expect(first).toStartWith("HTTP/1.1 101 ");
    expect(first.toLowerCase()).toContain("\r\nx-ratelimit-remaining-minute: 1\r\n");
    // The accept of the RFC 6455 example key, computed for the client, not the upstream's for the gateway's key.
    expect(first.toLowerCase()).toContain("\r\nsec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=");
    await rawUpgradeHead(gateway.proxy.port, "/limited");
    const refused = await upgradeRequest(`${gateway.proxyUrl}/limited`);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toEqual({ message: "API rate limit exceeded" });
  });

  test("an Upgrade: websocket request without a valid key is refused with 400, another version with 426", async () => {
    const refused = await upgradeRequest(`${gateway.proxyUrl}/open`, { "sec-websocket-key": "short" });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ message: "invalid WebSocket upgrade: expected Connection: Upgrade and a Sec-WebSocket-Key of 16 bytes in base64" });
    const version = await upgradeRequest(`${gateway.proxyUrl}/open`, { "sec-websocket-version": "8" });
    expect(version.status).toBe(426);
    expect(version.headers.get("sec-websocket-version")).toBe("13");
    expect(await version.json()).toEqual({ message: "unsupported WebSocket version: expected Sec-WebSocket-Version: 13" });
  });
});

describe("load-balanced services", () => {
  test("an upstream's targets share the sessions; a target that refuses connections is passed over", async () => {
    const other = startBunWebSocketUpstream();
    try {
      const { store } = gateway;
      const balanced = store.create("upstreams", { name: "chat.upstream" });
      const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
      const down = closed.port;
      closed.stop(true);
      for (const port of [bun.port, other.port, down]) store.create("targets", { target: `127.0.0.1:${port}` }, { kind: "upstreams", id: balanced.id });
      store.create("services", { name: "balanced", url: "http://chat.upstream", retries: 2 });
      store.create("routes", { name: "balanced", service: { name: "balanced" }, paths: ["/balanced"] });
      const before = bun.sessions.length;
      const hosts = new Set<string>();
      for (let i = 0; i < 6; i++) {
        const client = await TestWebSocket.open(`${ws}/balanced`);
        client.send("headers");
        hosts.add((JSON.parse(await client.nextText()) as Record<string, string>).host!);
        await client.close(1000);
      }
      expect(bun.sessions.length - before + other.sessions.length).toBe(6);
      expect(other.sessions.length).toBeGreaterThan(0);
      expect(hosts).toEqual(new Set([`127.0.0.1:${bun.port}`, `127.0.0.1:${other.port}`]));
    } finally {
      await other.stop();
    }
  });
});

describe("upstream failures", () => {
  test("upstream down: 502 with the gateway's JSON body", async () => {
    const refused = await upgradeRequest(`${gateway.proxyUrl}/down`);
    expect(refused.status).toBe(502);
    expect(await refused.json()).toEqual({ message: "An invalid response was received from the upstream server" });
  });

  test("an upstream refusing the upgrade: its status, headers and body reach the client", async () => {
    const fromBun = await upgradeRequest(`${gateway.proxyUrl}/open/refuse`);
    expect(fromBun.status).toBe(403);
    expect(fromBun.headers.get("x-upstream")).toBe("refused");
    expect(await fromBun.json()).toEqual({ message: "the upstream says no" });
    const fromNode = await upgradeRequest(`${gateway.proxyUrl}/node/refuse`);
    expect(fromNode.status).toBe(403);
    expect(await fromNode.json()).toEqual({ message: "node says no" });
  });

  test("a silent upstream is closed after the service's read_timeout", async () => {
    const client = await TestWebSocket.open(`${ws}/quiet`);
    const started = performance.now();
    client.send("silence");
    expect(await client.closed).toEqual({ code: 1001, reason: "upstream read timeout" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(250);
  });
});

describe("access log", () => {
  test("one line per session at its close: duration and messages each way", async () => {
    const client = await TestWebSocket.open(`${ws}/open/logged`);
    for (let i = 0; i < 3; i++) client.send(`m${i}`);
    for (let i = 0; i < 3; i++) await client.next();
    client.send("burst 2");
    await client.next();
    await client.next();
    await client.close(4003, "done");
    await Bun.sleep(250);
    const lines = readFileSync(logPath, "utf8").trim().split("\n").map((line) => JSON.parse(line));
    const session = lines.filter((line) => line.path === "/open/logged");
    expect(session).toHaveLength(1);
    expect(session[0]).toMatchObject({ method: "GET", status: 101, route: "open", service: "bun" });
    expect(session[0].websocket).toMatchObject({ messages_from_client: 4, messages_from_upstream: 5, close_code: 4003, closed_by: "client" });
    expect(session[0].websocket.duration_ms).toBeNumber();
  });
});

interface RawUpstream {
  port: number;
  /** What the gateway sent after its request head. */
  afterHead(): Buffer;
  stop(): void;
}

/** A raw TCP upstream: `reply` answers the request head with whatever bytes the test chooses. */
function rawUpstream(reply: (socket: Socket<undefined>, head: string) => void): RawUpstream {
  let received = Buffer.alloc(0);
  let answered = false;
  const listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket, bytes) {
        received = Buffer.concat([received, bytes]);
        const end = received.indexOf("\r\n\r\n");
        if (answered || end < 0) return;
        answered = true;
        reply(socket, received.subarray(0, end).toString("latin1"));
      },
    },
  });
  return {
    port: listener.port,
    afterHead: () => received.subarray(received.indexOf("\r\n\r\n") + 4),
    stop: () => listener.stop(true),
  };
}

/** The Sec-WebSocket-Accept for the key in a request head. */
function acceptFor(request: string): string {
  const key = /sec-websocket-key: (\S+)/i.exec(request)![1]!;
  return new Bun.CryptoHasher("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
}

/** The first frame the gateway sent, unmasked: its opcode and payload. */
function firstFrame(bytes: Buffer): { opcode: number; payload: Buffer } {
  const length = bytes[1]! & 0x7f;
  const mask = bytes.subarray(2, 6);
  return { opcode: bytes[0]! & 0x0f, payload: Buffer.from(bytes.subarray(6, 6 + length).map((byte, i) => byte ^ mask[i & 3]!)) };
}

describe("upstream misbehaviour and timeouts", () => {
  const upstreams: RawUpstream[] = [];
  afterAll(() => upstreams.forEach((upstream) => upstream.stop()));

  function routeTo(name: string, upstream: RawUpstream, service: Record<string, unknown> = {}): void {
    upstreams.push(upstream);
    gateway.store.create("services", { name, url: `http://127.0.0.1:${upstream.port}`, ...service });
    gateway.store.create("routes", { name, service: { name }, paths: [`/${name}`] });
  }

  test("an upstream that accepts the connection but never answers the upgrade: 504 after connect_timeout", async () => {
    routeTo("mute", rawUpstream(() => {}), { connect_timeout: 200 });
    const started = performance.now();
    const refused = await upgradeRequest(`${gateway.proxyUrl}/mute`);
    expect(refused.status).toBe(504);
    expect(await refused.json()).toEqual({ message: "The upstream server is timing out" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  test("a 101 with the wrong Sec-WebSocket-Accept: 502", async () => {
    routeTo("forged", rawUpstream((socket) => void socket.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: bm90IHRoZSByaWdodCBvbmU=\r\n\r\n")));
    const refused = await upgradeRequest(`${gateway.proxyUrl}/forged`);
    expect(refused.status).toBe(502);
    expect(await refused.json()).toEqual({ message: "An invalid response was received from the upstream server" });
  });

  test("a frame the upstream may not send: the client gets 1014, the upstream a Close with 1002", async () => {
    const upstream = rawUpstream((socket, request) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(request)}\r\n\r\n`);
      // RSV1 set (permessage-deflate, never negotiated) on a text frame "hi".
      socket.write(Buffer.from([0xc1, 0x02, 0x68, 0x69]));
    });
    routeTo("rsv", upstream);
    const client = await TestWebSocket.open(`${ws}/rsv`);
    expect(await client.closed).toEqual({ code: 1014, reason: "invalid frame from the upstream" });
    await Bun.sleep(50);
    const close = firstFrame(upstream.afterHead());
    expect(close.opcode).toBe(8);
    expect(close.payload.readUInt16BE(0)).toBe(1002);
  });

  test("an upstream that stops taking frames: closed after the service's write_timeout", async () => {
    const client = await TestWebSocket.open(`${ws}/stalled`);
    client.send("pause 3000");
    client.send("barrier");
    expect(await client.next()).toBe("barrier");
    const chunk = new Uint8Array(1024 * 1024);
    for (let i = 0; i < 48; i++) client.send(chunk);
    expect(await client.closed).toEqual({ code: 1001, reason: "upstream write timeout" });
  });

  test("a client that stops reading: dropped after the service's write_timeout, the upstream closed with 1001", async () => {
    const session = bun.nextSession();
    const client = await TestWebSocket.open(`${ws}/stalled`);
    const upstream = await session;
    client.socket.pause();
    client.send("flood 48 1048576");
    expect((await upstream.closed).code).toBe(1001);
    client.socket.resume();
    expect((await client.closed).code).toBe(1006);
  });
});

describe("wss upstreams and shutdown", () => {
  let secure: BunWebSocketUpstream;
  let second: TestGateway;
  let secondLog: string;
  let cert: string;
  let key: string;
  let otherCert: string;
  let misnamedUpstream: BunWebSocketUpstream;

  beforeAll(() => {
    const dir = tempDir();
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(made.stderr.toString());
    cert = readFileSync(join(dir, "cert.pem"), "utf8");
    key = readFileSync(join(dir, "key.pem"), "utf8");
    secure = startBunWebSocketUpstream({ cert, key });
    // Trusted through ca_certificates but issued for another name than the address connected to.
    const other = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=other.example", "-addext", "subjectAltName=DNS:other.example", "-keyout", join(dir, "other-key.pem"), "-out", join(dir, "other.pem")], { stderr: "pipe" });
    if (other.exitCode !== 0) throw new Error(other.stderr.toString());
    otherCert = readFileSync(join(dir, "other.pem"), "utf8");
    misnamedUpstream = startBunWebSocketUpstream({ cert: otherCert, key: readFileSync(join(dir, "other-key.pem"), "utf8") });
    secondLog = join(dir, "access.log");
    second = startTestGateway({ accessLog: secondLog, proxyListenTls: { hostname: "127.0.0.1", port: 0 }, tlsDefault: { cert, key } });
    const trusted = second.store.create("ca_certificates", { cert }) as { id: string };
    const otherTrusted = second.store.create("ca_certificates", { cert: otherCert }) as { id: string };
    second.store.create("services", { name: "default", url: secure.url });
    second.store.create("services", { name: "trusting", url: secure.url, ca_certificates: [trusted.id] });
    second.store.create("routes", { name: "default", service: { name: "default" }, paths: ["/default"] });
    second.store.create("routes", { name: "trusting", service: { name: "trusting" }, paths: ["/trusting"] });
    second.store.create("services", { name: "unverified", url: secure.url, tls_verify: false });
    second.store.create("routes", { name: "unverified", service: { name: "unverified" }, paths: ["/unverified"] });
    second.store.create("services", { name: "misnamed", url: misnamedUpstream.url, ca_certificates: [otherTrusted.id] });
    second.store.create("routes", { name: "misnamed", service: { name: "misnamed" }, paths: ["/misnamed"] });
  });
  let secondClosed = false;
  afterAll(async () => {
    if (!secondClosed) await second.close();
    await secure.stop();
    await misnamedUpstream.stop();
  });

  test("an https service is reached over wss with its certificate verified: self-signed refused (502, reason logged)", async () => {
    const refused = await upgradeRequest(`${second.proxyUrl}/default`);
    expect(refused.status).toBe(502);
    const misnamed = await upgradeRequest(`${second.proxyUrl}/misnamed`);
    expect(misnamed.status).toBe(502);
    await Bun.sleep(200);
    const lines = readFileSync(secondLog, "utf8").trim().split("\n").map((text) => JSON.parse(text));
    expect(lines.find((entry) => entry.path === "/default").error).toBe("TLS verification failed: DEPTH_ZERO_SELF_SIGNED_CERT");
    expect(lines.find((entry) => entry.path === "/misnamed").error).toBe("TLS verification failed: ERR_TLS_CERT_ALTNAME_INVALID");
  });

  test("the service's TLS options (its CA) make the same upstream trusted", async () => {
    const client = await TestWebSocket.open(`${second.proxyUrl.replace("http:", "ws:")}/trusting`);
    client.send("over tls");
    expect(await client.next()).toBe("over tls");
    await client.close(1000);
  });

  test("verification turned off for one service (rejectUnauthorized: false) reaches the self-signed upstream", async () => {
    const client = await TestWebSocket.open(`${second.proxyUrl.replace("http:", "ws:")}/unverified`);
    client.send("unverified");
    expect(await client.next()).toBe("unverified");
    await client.close(1000);
  });

  test("a wss client on the TLS listener: relayed, X-Forwarded-Proto https, kept across a certificate change", async () => {
    const session = secure.nextSession();
    const client = await TestWebSocket.open(`wss://127.0.0.1:${second.tlsProxy!.port}/trusting`, { ca: cert });
    expect((await session).headers["x-forwarded-proto"]).toBe("https");
    client.send("tls both ways");
    expect(await client.next()).toBe("tls both ways");
    // New certificates start a new TLS server; the retired one keeps this session open.
    const certificate = second.store.create("certificates", { cert, key });
    second.store.create("snis", { name: "other.test", certificate: { id: certificate.id } });
    await Bun.sleep(200);
    expect(readFileSync(secondLog, "utf8")).toContain("TLS certificates replaced");
    client.send("after the certificate change");
    expect(await client.next()).toBe("after the certificate change");
    await client.close(1000);
  });

  test("shutdown closes open sessions with 1001 on both sides", async () => {
    const session = secure.nextSession();
    const client = await TestWebSocket.open(`${second.proxyUrl.replace("http:", "ws:")}/trusting`);
    const upstream = await session;
    const stopping = performance.now();
    secondClosed = true;
    await second.close();
    // Closed sessions do not hold up the shutdown until its grace period (1 s here) ends.
    expect(performance.now() - stopping).toBeLessThan(900);
    expect(await client.closed).toEqual({ code: 1001, reason: "gateway shutting down" });
    expect((await upstream.closed).code).toBe(1001);
    // The session's line was written before the log closed.
    const lines = readFileSync(secondLog, "utf8").trim().split("\n").map((text) => JSON.parse(text));
    expect(lines.filter((line) => line.websocket?.error === "gateway shutting down")).toHaveLength(1);
  });
});
