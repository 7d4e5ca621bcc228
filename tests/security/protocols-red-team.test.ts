// Attacks on TLS termination, WebSocket proxying and load balancing: what a client or an
// operator's slip could leak or get around. Real gateway, real admin API, certificates and keys
// made by openssl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { startAdminServer } from "../../src/admin/server.ts";
import { VERSION } from "../../src/version.ts";
import { craft, sign, signingKey } from "../support/auth.ts";
import { type TestGateway, startTestGateway, tempDir } from "../support/gateway.ts";
import { type RunningNginx, describeWithNginx, rawRequest, startNginx } from "../support/nginx.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "../support/node-upstream.ts";
import { type ScriptedUpstream, scripted } from "../support/scripted-upstream.ts";

const dir = tempDir("gateway-protocols-red-team-");
const read = (name: string) => readFileSync(join(dir, name), "utf8");
function openssl(...args: string[]): void {
  const run = Bun.spawnSync(["openssl", ...args], { cwd: dir, stdout: "ignore", stderr: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr.toString()}`);
}

let gateway: TestGateway;
/** Accepts every WebSocket upgrade without choosing a sub-protocol (RFC 6455 lets it). */
let upstream: ScriptedUpstream;
/** Accepts the upgrade, then never reads again. */
let deaf: net.Server;
let admin: Awaited<ReturnType<typeof startAdminServer>>;
let adminUrl: string;
let cert: string;
let key: string;
/** An EC key as `openssl ecparam -genkey` writes it (SEC1): its secret starts 7 bytes in. */
let sec1Key: string;
let hs: Awaited<ReturnType<typeof signingKey>>;

async function adminCall(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(adminUrl + path, { method, headers: body === undefined ? {} : { "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

/** The base64 of a PEM key past its header line: the key material itself. */
const material = (pem: string) => pem.split("\n").slice(1, -2).join("");

beforeAll(async () => {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "leaf.key", "-out", "leaf.pem", "-days", "2", "-subj", "/CN=leak.test", "-addext", "subjectAltName=DNS:leak.test");
  openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "sec1.key");
  cert = read("leaf.pem");
  key = read("leaf.key");
  sec1Key = read("sec1.key");
  upstream = scripted((socket, request) => {
    const key = /^sec-websocket-key: (.*)$/im.exec(request)?.[1]?.trim();
    if (key === undefined) return void socket.write("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
    const accept = new Bun.CryptoHasher("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  });
  deaf = net.createServer((socket) => {
    socket.once("data", (head) => {
      const key = /^sec-websocket-key: (.*)$/im.exec(head.toString("latin1"))![1]!.trim();
      const accept = new Bun.CryptoHasher("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      socket.pause();
    });
  });
  await new Promise<void>((resolve) => deaf.listen(0, "127.0.0.1", resolve));
  gateway = startTestGateway();
  gateway.store.create("services", { name: "deaf", url: `http://127.0.0.1:${(deaf.address() as net.AddressInfo).port}` });
  gateway.store.create("routes", { name: "deaf", service: { name: "deaf" }, paths: ["/deaf"] });
  gateway.store.create("services", { name: "ws", url: `http://127.0.0.1:${upstream.port}` });
  gateway.store.create("routes", { name: "ws", service: { name: "ws" }, paths: ["/ws"] });
  const claims = gateway.store.create("routes", { name: "claims", service: { name: "ws" }, paths: ["/claims"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: claims.id }, config: { claims_to_headers: { role: "role" } } });
  const folded = gateway.store.create("routes", { name: "folded", service: { name: "ws" }, paths: ["/folded"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: folded.id }, config: { claims_to_headers: { role: "x_role" }, cookie_names: ["jwt"] } });
  const custom = gateway.store.create("routes", { name: "custom", service: { name: "ws" }, paths: ["/custom"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: custom.id }, config: { header_names: ["x-jwt"], cookie_names: ["my_jwt"] } });
  hs = await signingKey("HS256");
  const alice = gateway.store.create("consumers", { username: "alice" });
  gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  admin = await startAdminServer(
    { store: gateway.store, state: gateway.state, metrics: gateway.metrics, mode: "database", adminToken: undefined, version: VERSION, registry: gateway.registry, startedAt: Date.now() },
    { hostname: "127.0.0.1", port: 0 },
  );
  adminUrl = `http://127.0.0.1:${admin.port}`;
});

afterAll(async () => {
  await admin?.stop(0);
  await gateway?.close();
  upstream?.stop();
  deaf?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("private keys stay out of admin answers", () => {
  test("a cert+key bundle pasted into `cert` is refused: `cert` is returned by every read", async () => {
    const created = await adminCall("POST", "/certificates", { cert: cert + key, key });
    expect(created.status).toBe(400);
    expect(JSON.parse(created.text)).toEqual({
      message: "schema violation (cert: must not contain a private key: give the key in 'key')",
      fields: { cert: "must not contain a private key: give the key in 'key'" },
    });
    expect(created.text).not.toContain("PRIVATE KEY");
    const listed = await adminCall("GET", "/certificates");
    expect(listed.text).not.toContain("PRIVATE KEY");
  });

  test("the same bundle in `cert_alt` is refused too", async () => {
    const created = await adminCall("POST", "/certificates", { cert, key, cert_alt: cert + key, key_alt: key });
    expect(created.status).toBe(400);
    expect(JSON.parse(created.text).fields).toEqual({ cert_alt: "must not contain a private key: give the key in 'key_alt'" });
  });

  test("a private key given where a reference is expected is not quoted back, not even its first bytes", async () => {
    for (const pem of [sec1Key, key]) {
      const answer = await adminCall("POST", "/services", { name: "svc", url: "https://127.0.0.1:1", client_certificate: pem });
      expect(answer.status).toBe(400);
      expect(JSON.parse(answer.text)).toEqual({
        message: `schema violation (client_certificate: no such certificate '(a PEM private key, not shown: ${pem.length} bytes)')`,
        fields: { client_certificate: `no such certificate '(a PEM private key, not shown: ${pem.length} bytes)'` },
      });
      expect(answer.text).not.toContain(material(pem).slice(0, 12));
    }
  });
});

describe("WebSocket handshake: the client is told what the upstream agreed", () => {
  test("an upstream that chose no sub-protocol: the client's 101 names none (not the first it offered)", async () => {
    const raw = await rawRequest(gateway.proxy.port, "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: admin.v1, chat.v1\r\n\r\n", 500, "latin1");
    const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 101 Switching Protocols");
    expect(/^sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK\+xOo=$/im.test(head)).toBe(true);
    expect(head.toLowerCase()).not.toContain("sec-websocket-protocol");
    expect(upstream.requests.at(-1)).toContain("sec-websocket-protocol: admin.v1, chat.v1");
  });
});

describe("WebSocket: a ping flood towards an upstream that does not read", () => {
  test("the client is paused as for messages: what it can send is bounded, not queued in the gateway without end", async () => {
    // Masked pings of 125 bytes (the most a control frame carries), 500 to a write.
    const ping = Buffer.alloc(2 + 4 + 125);
    ping[0] = 0x89;
    ping[1] = 0x80 | 125;
    const burst = Buffer.concat(Array(500).fill(ping));
    let sent = 0;
    const client = net.connect(gateway.proxy.port, "127.0.0.1");
    try {
      await new Promise<void>((resolve, reject) => {
        client.once("connect", () => client.write("GET /deaf HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"));
        client.once("data", (answer) => (answer.toString().startsWith("HTTP/1.1 101") ? resolve() : reject(new Error(answer.toString()))));
        client.once("error", reject);
      });
      const pump = (): void => {
        while (client.write(burst)) sent += burst.length;
        sent += burst.length;
        client.once("drain", pump);
      };
      pump();
      // Socket buffers fill at the machine's pace (about 10 MB here, within a second on a quiet
      // machine): wait until nothing has moved for a second (at most 10 s; on a loaded host the
      // gateway can go half a second without running, and then read on).
      let settled = -1;
      for (let i = 0, still = 0; i < 20 && still < 2; i++) {
        still = sent === settled ? still + 1 : 0;
        settled = sent;
        await Bun.sleep(500);
      }
      await Bun.sleep(400);
      // Unpaused, the gateway took about 100 MB a second here and held each ping (RSS +1.9 GB in 8 s).
      expect(sent).toBeLessThan(40 * 1024 * 1024);
      expect(sent - settled).toBeLessThan(1024 * 1024);
    } finally {
      client.destroy();
    }
  });
});

describe("claims_to_headers names without x-: the client's copy never reaches the upstream", () => {
  const UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  for (const [kind, extra] of [["plain request", "Connection: close\r\n"], ["WebSocket upgrade", UPGRADE]] as const) {
    test(`${kind}: a token without the claim and a client's Role: admin → no role header upstream`, async () => {
      const token = await sign(hs, { iss: "alice-key", sub: "alice" });
      const before = upstream.requests.length;
      const raw = await rawRequest(gateway.proxy.port, `GET /claims HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nRole: admin\r\n${extra}\r\n`, 500, "latin1");
      expect(raw.split("\r\n")[0]).toBe(kind === "plain request" ? "HTTP/1.1 200 OK" : "HTTP/1.1 101 Switching Protocols");
      const seen = upstream.requests.slice(before);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toContain("x-consumer-username: alice");
      expect(seen[0]!.toLowerCase()).not.toContain("role:");
    });
  }

  test("a token with the claim: the upstream sees the token's value only", async () => {
    const token = await sign(hs, { iss: "alice-key", sub: "alice", role: "reader" });
    const before = upstream.requests.length;
    await rawRequest(gateway.proxy.port, `GET /claims HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nRole: admin\r\nConnection: close\r\n\r\n`, 500, "latin1");
    expect(upstream.requests.slice(before)[0]!.match(/^role: .*$/gim)).toEqual(["role: reader"]);
  });
});

/** Status line and body of a raw answer. */
function answerOf(raw: string): { status: string; body: string } {
  return { status: raw.split("\r\n")[0]!, body: raw.slice(raw.indexOf("\r\n\r\n") + 4) };
}

describe("a claims_to_headers name with `_` (HTTP_X_ROLE to a CGI-style upstream)", () => {
  test("the client's X-Role, x.role and X_Role never reach the upstream when the claim is missing", async () => {
    const token = await sign(hs, { iss: "alice-key", sub: "alice" });
    const before = upstream.requests.length;
    const raw = await rawRequest(gateway.proxy.port, `GET /folded HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nX-Role: admin\r\nx.role: admin\r\nX_Role: admin\r\nConnection: close\r\n\r\n`, 500, "latin1");
    expect(answerOf(raw).status).toBe("HTTP/1.1 200 OK");
    const seen = upstream.requests.slice(before);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toContain("x-consumer-username: alice");
    expect(seen[0]!.match(/^x[-_.]role:.*$/gim)).toBeNull();
  });

  test("with the claim, the upstream sees the token's value in the configured spelling only", async () => {
    const token = await sign(hs, { iss: "alice-key", sub: "alice", role: "reader" });
    const before = upstream.requests.length;
    await rawRequest(gateway.proxy.port, `GET /folded HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${token}\r\nX-Role: admin\r\nConnection: close\r\n\r\n`, 500, "latin1");
    expect(upstream.requests.slice(before)[0]!.match(/^x[-_.]role:.*$/gim)).toEqual(["x_role: reader"]);
  });
});

describe("a second, different token beside a good one is refused, never sent on unchecked", () => {
  const forged = craft({ alg: "none" }, { iss: "alice-key", sub: "alice", role: "admin" }, "");
  const MULTIPLE = '{"message":"Multiple tokens provided"}';
  const cases = (good: string, other: string): [string, string][] => [
    ["two Authorization fields", `Authorization: Bearer ${good}\r\nAuthorization: Bearer ${other}\r\n`],
    ["one Authorization field with two tokens", `Authorization: Bearer ${good}, Bearer ${other}\r\n`],
    ["two Cookie fields", `Cookie: jwt=${good}\r\nCookie: jwt=${other}\r\n`],
    ["two cookies of the name in one field", `Cookie: theme=dark; jwt=${good}; jwt=${other}\r\n`],
  ];

  test("each form of a second token → 401 Multiple tokens provided, and nothing upstream", async () => {
    const good = await sign(hs, { iss: "alice-key", sub: "alice" });
    for (const [form, fields] of cases(good, forged)) {
      const before = upstream.requests.length;
      const raw = await rawRequest(gateway.proxy.port, `GET /folded HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`, 500, "latin1");
      expect({ form, ...answerOf(raw) }).toEqual({ form, status: "HTTP/1.1 401 Unauthorized", body: MULTIPLE });
      expect(upstream.requests.length).toBe(before);
    }
  });

  test("the same token twice is one token", async () => {
    const good = await sign(hs, { iss: "alice-key", sub: "alice" });
    for (const [form, fields] of cases(good, good)) {
      const raw = await rawRequest(gateway.proxy.port, `GET /folded HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`, 500, "latin1");
      expect({ form, status: answerOf(raw).status }).toEqual({ form, status: "HTTP/1.1 200 OK" });
    }
  });
});

describe("a token header or cookie in another spelling an upstream reads as the same name", () => {
  const forged = craft({ alg: "none" }, { iss: "alice-key", sub: "alice", role: "admin" }, "");
  const send = (fields: string) => rawRequest(gateway.proxy.port, `GET /custom HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`, 500, "latin1");

  test("X_JWT or X.JWT beside X-JWT (all HTTP_X_JWT to CGI), my.jwt, my jwt or my%5Fjwt beside my_jwt (PHP's my_jwt): 401 Multiple tokens provided", async () => {
    const good = await sign(hs, { iss: "alice-key", sub: "alice" });
    const forms = [
      `X-JWT: Bearer ${good}\r\nX_JWT: Bearer ${forged}\r\n`,
      `X_JWT: Bearer ${forged}\r\nX-JWT: Bearer ${good}\r\n`,
      `X-JWT: Bearer ${good}\r\nX.JWT: Basic YTpi\r\n`,
      `Cookie: my_jwt=${good}; my.jwt=${forged}\r\n`,
      `Cookie: my_jwt=${good}; my jwt=${forged}\r\n`,
      `Cookie: my%5Fjwt=${forged}; my_jwt=${good}\r\n`,
    ];
    for (const fields of forms) {
      const before = upstream.requests.length;
      expect({ fields, ...answerOf(await send(fields)) }).toEqual({ fields, status: "HTTP/1.1 401 Unauthorized", body: '{"message":"Multiple tokens provided"}' });
      expect(upstream.requests.length).toBe(before);
    }
  });

  test("the same token in both spellings is one token; another spelling alone carries the token", async () => {
    const good = await sign(hs, { iss: "alice-key", sub: "alice" });
    for (const fields of [`X-JWT: Bearer ${good}\r\nX_JWT: Bearer ${good}\r\n`, `X_JWT: Bearer ${good}\r\n`, `Cookie: my.jwt=${good}\r\n`, `Cookie: my_jwt=${good}; my%5Fjwt=${good}\r\n`]) {
      expect({ fields, status: answerOf(await send(fields)).status }).toEqual({ fields, status: "HTTP/1.1 200 OK" });
    }
    // A name that is no spelling of x-jwt is not read.
    expect(answerOf(await send(`X-JWT: Bearer ${good}\r\nX-JW: Bearer ${forged}\r\n`)).status).toBe("HTTP/1.1 200 OK");
  });
});

describeWithNginx("the same attacks through stock nginx and Node's http: the upstream sees only what the gateway decided", () => {
  let node: NodeUpstream;
  let nginx: RunningNginx;
  const forged = craft({ alg: "none" }, { iss: "alice-key", sub: "alice", role: "admin" }, "");

  beforeAll(async () => {
    node = await startNodeUpstream("none");
    // nginx's $http_x_role is X-Role and, with underscores allowed, X_Role too, as CGI reads them.
    nginx = await startNginx(`underscores_in_headers on; default_type text/plain; location / { return 200 "role=$http_x_role auth=$http_authorization"; }`);
    for (const [name, url] of [["node", node.url], ["nginx", nginx.url]] as const) {
      gateway.store.create("services", { name: `real-${name}`, url });
      const route = gateway.store.create("routes", { name: `real-${name}`, service: { name: `real-${name}` }, paths: [`/real-${name}`] });
      gateway.store.create("plugins", { name: "jwt", route: { id: route.id }, config: { claims_to_headers: { role: "x_role" } } });
    }
    const custom = gateway.store.create("routes", { name: "real-node-custom", service: { name: "real-node" }, paths: ["/real-node-custom"] });
    gateway.store.create("plugins", { name: "jwt", route: { id: custom.id }, config: { header_names: ["x-jwt"] } });
    await Bun.sleep(250);
  });

  afterAll(async () => {
    await node?.stop();
    await nginx?.stop();
  });

  const send = (path: string, fields: string) => rawRequest(gateway.proxy.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`, 2000, "latin1");

  test("a client's X-Role and X_Role next to a token without the claim: neither reaches Node (HTTP_X_ROLE) nor nginx ($http_x_role)", async () => {
    const token = await sign(hs, { iss: "alice-key", sub: "alice" });
    const fields = `Authorization: Bearer ${token}\r\nX-Role: admin\r\nX_Role: admin\r\n`;
    const viaNode = JSON.parse(answerOf(await send("/real-node", fields)).body) as NodeEcho;
    expect(viaNode.cgi.HTTP_X_ROLE).toBeUndefined();
    expect(viaNode.cgi.HTTP_X_CONSUMER_USERNAME).toBe("alice");
    expect(answerOf(await send("/real-nginx", fields)).body).toBe(`role= auth=Bearer ${token}`);
  });

  test("header_names x-jwt: a forged X_JWT beside the good X-JWT is refused; the good one alone is Node's HTTP_X_JWT", async () => {
    const good = await sign(hs, { iss: "alice-key", sub: "alice" });
    for (const fields of [`X-JWT: Bearer ${good}\r\nX_JWT: Bearer ${forged}\r\n`, `X_JWT: Bearer ${forged}\r\nX-JWT: Bearer ${good}\r\n`]) {
      expect({ fields, ...answerOf(await send("/real-node-custom", fields)) }).toEqual({ fields, status: "HTTP/1.1 401 Unauthorized", body: '{"message":"Multiple tokens provided"}' });
    }
    const alone = JSON.parse(answerOf(await send("/real-node-custom", `X-JWT: Bearer ${good}\r\n`)).body) as NodeEcho;
    expect(alone.cgi.HTTP_X_JWT).toBe(`Bearer ${good}`);
  });

  test("with the claim, both read the token's role only", async () => {
    const token = await sign(hs, { iss: "alice-key", sub: "alice", role: "reader" });
    const fields = `Authorization: Bearer ${token}\r\nX-Role: admin\r\n`;
    expect((JSON.parse(answerOf(await send("/real-node", fields)).body) as NodeEcho).cgi.HTTP_X_ROLE).toBe("reader");
    expect(answerOf(await send("/real-nginx", fields)).body).toBe(`role=reader auth=Bearer ${token}`);
  });

  test("a forged or unreadable Authorization field beside the good one, first or last: 401 on both, so neither reads it", async () => {
    const good = await sign(hs, { iss: "alice-key", sub: "alice" });
    for (const path of ["/real-node", "/real-nginx"]) {
      for (const other of [`Bearer ${forged}`, "Bearer EVIL extra"]) {
        for (const fields of [`Authorization: ${other}\r\nAuthorization: Bearer ${good}\r\n`, `Authorization: Bearer ${good}\r\nAuthorization: ${other}\r\n`]) {
          const answer = answerOf(await send(path, fields));
          expect({ path, fields, ...answer }).toEqual({ path, fields, status: "HTTP/1.1 401 Unauthorized", body: '{"message":"Multiple tokens provided"}' });
        }
      }
      // The good token alone is what the upstream reads.
      const alone = answerOf(await send(path, `Authorization: Bearer ${good}\r\n`)).body;
      if (path === "/real-node") expect((JSON.parse(alone) as NodeEcho).rawHeaders.filter(([name]) => name.toLowerCase() === "authorization")).toEqual([["authorization", `Bearer ${good}`]]);
      else expect(alone).toBe(`role= auth=Bearer ${good}`);
    }
  });
});
