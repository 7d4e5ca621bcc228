// Red team of the plugins' work on the raw engine's parsed head (HeaderFields, no Fetch Request):
// what a client sends that a plugin owns, hides or sets must reach the upstream exactly as on
// the serve engine, where Fetch's Headers did the work. Each case runs on both engines against
// a raw byte recorder, which shows every byte of the upstream request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import type { ProxyEngine } from "../../src/proxy/engine.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "../support/node-upstream.ts";
import { type ByteRecorder, startByteRecorder, talk } from "../support/raw-socket.ts";
import { RawHeaders } from "../../src/proxy/raw/incoming.ts";

const SECRET = "red-team-secret-0123456789abcdef";
const API_KEY = "red-team-api-key-0123456789";
const SPOOFED = "spoofed-by-client";

function jwt(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).setIssuer("alice-key").setExpirationTime("1h").sign(new TextEncoder().encode(SECRET));
}

/** The header lines of `head` named `name` (any case, any of the spellings CGI servers fold together). */
function fieldsNamed(head: string, name: string): string[] {
  const wanted = name.toLowerCase().replace(/[_.]/g, "-");
  return head.split("\r\n").slice(1).filter((line) => {
    const colon = line.indexOf(":");
    return colon > 0 && line.slice(0, colon).toLowerCase().replace(/[_.]/g, "-") === wanted;
  });
}

for (const engine of ["raw", "serve"] as ProxyEngine[]) {
  describe(`${engine} engine: headers the plugins own, hide and set`, () => {
    let upstream: ByteRecorder;
    let gateway: TestGateway;

    beforeAll(() => {
      upstream = startByteRecorder(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
      gateway = startTestGateway({ proxyEngine: engine });
      const store = gateway.store;
      store.create("services", { name: "up", url: upstream.url });
      const alice = store.create("consumers", { username: "alice", custom_id: "alice-custom" }) as { id: string };
      store.create("jwt_secrets", { key: "alice-key", algorithm: "HS256", secret: SECRET }, { kind: "consumers", id: alice.id });
      store.create("keyauth_credentials", { key: API_KEY }, { kind: "consumers", id: alice.id });
      const route = (name: string, plugins: { name: string; config?: Record<string, unknown> }[]) => {
        const created = store.create("routes", { name, service: { name: "up" }, paths: [`/${name}`] }) as { id: string };
        for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: created.id } });
      };
      route("jwt", [{ name: "jwt", config: { hide_credentials: true, cookie_names: ["session"], claims_to_headers: { role: "X-Role", note: "X-Note" } } }]);
      route("key", [{ name: "key-auth", config: { hide_credentials: true } }]);
      route("acl", [{ name: "key-auth" }, { name: "acl", config: { allow: ["nobody"] } }]);
    });
    afterAll(async () => {
      await gateway.close();
      upstream.stop();
    });

    /** Sends `head` (request line and header lines, no blank line) and returns what the upstream got. */
    async function upstreamHeadFor(head: string): Promise<{ answer: string; head: string | undefined }> {
      const before = upstream.heads.length;
      const answer = (await talk(gateway.proxy.port, [`${head}\r\n\r\n`], 300)).raw;
      return { answer, head: upstream.heads[before] };
    }

    test("identity headers a client sends in every spelling and twice are gone; the gateway's own arrive once", async () => {
      const token = await jwt({ sub: "alice", role: "reader" });
      const spoofs = ["X-Consumer-ID", "x-consumer-id", "X_Consumer_ID", "X.Consumer.Username", "X-Consumer-Custom-ID", "X-Credential-Identifier", "X-Anonymous-Consumer", "X-Authenticated-Groups", "X-Role", "x_role"]
        .map((name) => `${name}: ${SPOOFED}`)
        .join("\r\n");
      const got = await upstreamHeadFor(`GET /jwt/a HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\n${spoofs}`);
      expect(got.answer).toStartWith("HTTP/1.1 200");
      const head = got.head!;
      expect(head).not.toContain(SPOOFED);
      expect(fieldsNamed(head, "x-consumer-username")).toEqual(["x-consumer-username: alice"]);
      expect(fieldsNamed(head, "x-consumer-custom-id")).toEqual(["x-consumer-custom-id: alice-custom"]);
      expect(fieldsNamed(head, "x-credential-identifier")).toEqual(["x-credential-identifier: alice-key"]);
      expect(fieldsNamed(head, "x-consumer-id")).toHaveLength(1);
      expect(fieldsNamed(head, "x-role")).toEqual(["x-role: reader"]);
      expect(fieldsNamed(head, "x-anonymous-consumer")).toEqual([]);
      expect(fieldsNamed(head, "x-authenticated-groups")).toEqual([]);
    });

    test("hide_credentials: a token sent in two Authorization fields and a cookie leaves no copy", async () => {
      const token = await jwt({ sub: "alice" });
      const got = await upstreamHeadFor(`GET /jwt/b HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nauthorization: Bearer ${token}\r\nCookie: a=1\r\nCookie: session=${token}; b=2`);
      // Kong reads the first of repeated Authorization fields; the same token twice is one token.
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(got.head).not.toContain(token);
      expect(fieldsNamed(got.head!, "authorization")).toEqual([]);
      expect(fieldsNamed(got.head!, "cookie")).toEqual(["cookie: a=1; b=2"]);
    });

    test("key-auth hide_credentials: the key leaves no copy; sent in two fields it is one joined value, refused", async () => {
      const once = await upstreamHeadFor(`GET /key/c HTTP/1.1\r\nHost: gw.test\r\nApiKey: ${API_KEY}`);
      expect(once.answer).toStartWith("HTTP/1.1 200");
      expect(once.head).not.toContain(API_KEY);
      const twice = await upstreamHeadFor(`GET /key/c HTTP/1.1\r\nHost: gw.test\r\napikey: ${API_KEY}\r\nApiKey: ${API_KEY}`);
      expect(twice.answer).toStartWith("HTTP/1.1 401");
      expect(twice.answer).toEndWith('{"message":"Invalid authentication credentials"}');
      expect(twice.head).toBeUndefined();
    });

    test("a claim with CR LF cannot add a header line: the claim header is left out", async () => {
      const token = await jwt({ sub: "alice", role: "reader\r\nX-Injected: 1", note: "a\nb" });
      const got = await upstreamHeadFor(`GET /jwt/d HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}`);
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(got.head!.toLowerCase()).not.toContain("x-injected");
      expect(fieldsNamed(got.head!, "x-role")).toEqual([]);
      expect(fieldsNamed(got.head!, "x-note")).toEqual([]);
    });

    test("a claim beyond Latin-1 goes as its UTF-8 bytes, in one line", async () => {
      const token = await jwt({ sub: "alice", role: "r\u00f4le-\u0100" });
      const got = await upstreamHeadFor(`GET /jwt/e HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}`);
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(fieldsNamed(got.head!, "x-role")).toEqual([`x-role: ${Buffer.from("r\u00f4le-\u0100", "utf8").toString("latin1")}`]);
    });

    test("a Connection option naming the consumer header the gateway sets cannot remove it", async () => {
      const token = await jwt({ sub: "alice", role: "reader" });
      const got = await upstreamHeadFor(`GET /jwt/f HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nConnection: x-consumer-id, X-Role, keep-alive`);
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(fieldsNamed(got.head!, "x-consumer-id")).toHaveLength(1);
      expect(fieldsNamed(got.head!, "x-role")).toEqual(["x-role: reader"]);
      expect(fieldsNamed(got.head!, "connection")).toEqual([]);
    });

    test("acl refusal: 403 with Kong's message, the upstream never asked", async () => {
      const got = await upstreamHeadFor(`GET /acl/g HTTP/1.1\r\nHost: gw.test\r\napikey: ${API_KEY}\r\nX-Consumer-Groups: nobody`);
      expect(got.answer).toStartWith("HTTP/1.1 403");
      expect(got.answer).toContain('{"message":"You cannot consume this service"}');
      expect(got.head).toBeUndefined();
    });
  });
}

// Second pass: a Fetch Request built mid-chain (a body reader), transformer operations on
// repeated and case-varied fields, Connection options that name a credential, the echo of
// request-termination, hash_on cookie next to hide_credentials, and heads the raw parser
// must refuse rather than hand to a plugin. Each case compares the two engines as well.
const ANON = "anon-user";
const ENGINES_BOTH = ["raw", "serve"] as ProxyEngine[];

interface Rig {
  upstream: ByteRecorder;
  gateway: TestGateway;
}

async function startRig(engine: ProxyEngine): Promise<Rig> {
  const upstream = startByteRecorder(() => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
  const gateway = startTestGateway({ proxyEngine: engine });
  const store = gateway.store;
  store.create("services", { name: "up", url: upstream.url });
  const alice = store.create("consumers", { username: "alice", custom_id: "alice-custom" }) as { id: string };
  store.create("consumers", { username: ANON });
  store.create("jwt_secrets", { key: "alice-key", algorithm: "HS256", secret: SECRET }, { kind: "consumers", id: alice.id });
  store.create("keyauth_credentials", { key: API_KEY }, { kind: "consumers", id: alice.id });
  const balanced = store.create("upstreams", { name: "hashed.upstream", algorithm: "consistent-hashing", hash_on: "cookie", hash_on_cookie: "lb", hash_on_cookie_path: "/" }) as { id: string };
  store.create("targets", { target: upstream.url.replace("http://", "") }, { kind: "upstreams", id: balanced.id });
  store.create("services", { name: "hashed", url: "http://hashed.upstream" });
  const route = (name: string, plugins: { name: string; config?: Record<string, unknown> }[], service = "up") => {
    const created = store.create("routes", { name, service: { name: service }, paths: [`/${name}`] }) as { id: string };
    for (const plugin of plugins) store.create("plugins", { ...plugin, route: { id: created.id } });
  };
  const transformer = {
    name: "request-transformer",
    config: {
      remove: { headers: ["x-drop"] },
      rename: { headers: ["x-old:x-new"] },
      replace: { headers: ["x-replaced:replaced"] },
      add: { headers: ["x-added:yes"] },
      append: { headers: ["x-multi:two"] },
    },
  };
  // key-auth reads the body (key_in_body) and so builds the Fetch Request; the transformer runs after it.
  route("midchain", [{ name: "correlation-id", config: { header_name: "X-Corr" } }, { name: "key-auth", config: { key_in_body: true, hide_credentials: true, anonymous: ANON } }, transformer]);
  route("reqx", [transformer]);
  route("jwtc", [{ name: "jwt", config: { hide_credentials: true, cookie_names: ["session"] } }]);
  route("echo", [{ name: "key-auth" }, { name: "request-termination", config: { echo: true, status_code: 418 } }]);
  route("hashjwt", [{ name: "jwt", config: { hide_credentials: true, cookie_names: ["session"] } }], "hashed");
  // The proxy reads the configuration on its next poll.
  await Bun.sleep(300);
  return { upstream, gateway };
}

async function through(rig: Rig, request: string): Promise<{ answer: string; head: string | undefined; heads: number }> {
  const before = rig.upstream.heads.length;
  const answer = (await talk(rig.gateway.proxy.port, [request], 400, (raw) => raw.includes("\r\n\r\n"))).raw;
  return { answer, head: rig.upstream.heads[before], heads: rig.upstream.heads.length - before };
}

/** The header lines of an upstream head the gateway's own forwarding and Bun's fetch defaults leave out: what the client and plugins decided. */
function decided(head: string): string[] {
  const skip = /^(host|content-length|x-forwarded-[a-z]+|x-real-ip|x-request-id|x-consumer-id|user-agent|accept|accept-encoding|connection|x-corr):/i;
  return head.split("\r\n").slice(1).filter((line) => line !== "" && !skip.test(line)).map((line) => line.toLowerCase()).sort();
}

describe("second pass: both engines send the same decided fields", () => {
  const rigs = new Map<ProxyEngine, Rig>();
  beforeAll(async () => {
    for (const engine of ENGINES_BOTH) rigs.set(engine, await startRig(engine));
  });
  afterAll(async () => {
    for (const rig of rigs.values()) {
      await rig.gateway.close();
      rig.upstream.stop();
    }
  });

  /** Runs `request` on both engines; checks each with `check`; returns the decided fields per engine. */
  async function onBoth(request: string, check: (got: { answer: string; head: string | undefined; heads: number }, engine: ProxyEngine) => void): Promise<Record<string, string[] | null>> {
    const out: Record<string, string[] | null> = {};
    for (const engine of ENGINES_BOTH) {
      const got = await through(rigs.get(engine)!, request);
      check(got, engine);
      out[engine] = got.head === undefined ? null : decided(got.head);
    }
    return out;
  }

  test("mid-chain Request (key_in_body on a GET): correlation id set before it, transformer changes after it and spoofed identity all reach the upstream right, once", async () => {
    const request = `GET /midchain/a HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/x-www-form-urlencoded\r\nX-Consumer-ID: ${SPOOFED}\r\nX_Consumer_Username: ${SPOOFED}\r\nX-Drop: 1\r\nx-drop: 2\r\nX-Old: o1\r\nX-New: stale\r\nX-Replaced: r\r\nX-Multi: one\r\nX-Added: client\r\nConnection: keep-alive\r\n\r\n`;
    const fields = await onBoth(request, (got) => {
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(got.head).not.toContain(SPOOFED);
      expect(fieldsNamed(got.head!, "x-corr")).toHaveLength(1);
      expect(fieldsNamed(got.head!, "x-anonymous-consumer")).toEqual(["x-anonymous-consumer: true"]);
      expect(fieldsNamed(got.head!, "x-consumer-username")).toEqual([`x-consumer-username: ${ANON}`]);
      expect(fieldsNamed(got.head!, "x-consumer-id")).toHaveLength(1);
      expect(fieldsNamed(got.head!, "x-drop")).toEqual([]);
      expect(fieldsNamed(got.head!, "x-new").map((l) => l.toLowerCase())).toEqual(["x-new: o1"]);
      expect(fieldsNamed(got.head!, "x-old")).toEqual([]);
      expect(fieldsNamed(got.head!, "x-replaced").map((l) => l.toLowerCase())).toEqual(["x-replaced: replaced"]);
      expect(fieldsNamed(got.head!, "x-added").map((l) => l.toLowerCase())).toEqual(["x-added: client"]);
    });
    expect(fields.raw).toEqual(fields.serve!);
  });

  test("mid-chain Request on a POST: key in the body hidden, transformer's changes after the body read reach the upstream", async () => {
    const body = `apikey=${API_KEY}&a=1`;
    const request = `POST /midchain/b HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\nX-Consumer-Custom-ID: ${SPOOFED}\r\nX-Drop: 1\r\nX-Old: o1\r\n\r\n${body}`;
    for (const engine of ENGINES_BOTH) {
      const rig = rigs.get(engine)!;
      const before = rig.upstream.received.length;
      const got = await through(rig, request);
      expect(got.answer).toStartWith("HTTP/1.1 200");
      const sent = rig.upstream.received.slice(before);
      expect(sent).not.toContain(API_KEY);
      expect(sent).not.toContain(SPOOFED);
      expect(fieldsNamed(got.head!, "x-consumer-username")).toEqual(["x-consumer-username: alice"]);
      expect(fieldsNamed(got.head!, "x-added").map((l) => l.toLowerCase())).toEqual(["x-added: yes"]);
      expect(fieldsNamed(got.head!, "x-new").map((l) => l.toLowerCase())).toEqual(["x-new: o1"]);
      expect(fieldsNamed(got.head!, "x-drop")).toEqual([]);
      expect(fieldsNamed(got.head!, "x-corr")).toHaveLength(1);
    }
  });

  test("transformer on repeated, case-varied fields: remove drops every copy, rename and replace leave one field, append adds one: raw sends what serve sends", async () => {
    const request = `GET /reqx/c HTTP/1.1\r\nHost: gw.test\r\nX-DROP: a\r\nx-Drop: b\r\nX-Old: o1\r\nx-old: o2\r\nX-New: n1\r\nx-new: n2\r\nX-Replaced: r1\r\nX-REPLACED: r2\r\nX-Multi: m1\r\nX-Multi: m2\r\n\r\n`;
    const fields = await onBoth(request, (got) => {
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(fieldsNamed(got.head!, "x-drop")).toEqual([]);
      expect(fieldsNamed(got.head!, "x-old")).toEqual([]);
      expect(fieldsNamed(got.head!, "x-new").map((l) => l.toLowerCase())).toEqual(["x-new: o1, o2"]);
      expect(fieldsNamed(got.head!, "x-replaced").map((l) => l.toLowerCase())).toEqual(["x-replaced: replaced"]);
    });
    // Repeated fields may go as one joined line (serve's Headers) or as lines (raw pairs): compare joined.
    const joined = (lines: string[] | null) => {
      const map = new Map<string, string[]>();
      for (const line of lines ?? []) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon);
        map.set(name, [...(map.get(name) ?? []), ...line.slice(colon + 1).trim().split(/,\s*/)]);
      }
      return [...map].sort();
    };
    expect(joined(fields.raw!)).toEqual(joined(fields.serve!));
  });

  test("a Connection option naming Authorization or Cookie removes the credential before jwt: 401 on both, upstream never asked", async () => {
    const token = await jwt({ sub: "alice" });
    for (const request of [
      `GET /jwtc/d HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nConnection: authorization\r\n\r\n`,
      `GET /jwtc/d HTTP/1.1\r\nHost: gw.test\r\nCookie: session=${token}\r\nConnection: keep-alive, Cookie\r\n\r\n`,
    ]) {
      await onBoth(request, (got) => {
        expect(got.answer).toStartWith("HTTP/1.1 401");
        expect(got.answer).toContain('{"message":"Unauthorized"}');
        expect(got.heads).toBe(0);
      });
    }
  });

  test("hide_credentials with a cookie sent in two Cookie fields, the token repeated: no copy of the token upstream", async () => {
    const token = await jwt({ sub: "alice" });
    const request = `GET /jwtc/e HTTP/1.1\r\nHost: gw.test\r\nCookie: session=${token}\r\nCookie: other=1; session=${token}\r\n\r\n`;
    const fields = await onBoth(request, (got) => {
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(got.head).not.toContain(token);
      expect(fieldsNamed(got.head!, "cookie")).toEqual(["cookie: other=1"]);
    });
    expect(fields.raw).toEqual(fields.serve!);
  });

  test("hash_on cookie balancing next to jwt hide_credentials: the token cookie is gone, the balancer's cookie is added once", async () => {
    const token = await jwt({ sub: "alice" });
    const request = `GET /hashjwt/f HTTP/1.1\r\nHost: gw.test\r\nCookie: session=${token}; keep=1\r\n\r\n`;
    await onBoth(request, (got) => {
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(got.answer).toMatch(/\r\nset-cookie: lb=[0-9a-f-]+; Path=\//i);
      expect(got.head).not.toContain(token);
      const cookies = fieldsNamed(got.head!, "cookie");
      expect(cookies).toHaveLength(1);
      expect(cookies[0]).toMatch(/^cookie: keep=1; lb=[0-9a-f-]+$/);
    });
  });

  test("request-termination echo: duplicated, case-varied fields echo alike on both engines; credentials and spoofed identity never echoed", async () => {
    const request = `GET /echo/g?apikey=${API_KEY}&x=1 HTTP/1.1\r\nHost: gw.test\r\nX-Dup: one\r\nx-dup: two\r\nCookie: a=1\r\nCookie: b=2\r\nX-Consumer-ID: ${SPOOFED}\r\nX_Consumer_ID: ${SPOOFED}\r\nConnection: close\r\n\r\n`;
    const echoes: Record<string, unknown> = {};
    for (const engine of ENGINES_BOTH) {
      const got = await through(rigs.get(engine)!, request);
      expect(got.answer).toStartWith("HTTP/1.1 418");
      expect(got.heads).toBe(0);
      const body = got.answer.slice(got.answer.indexOf("\r\n\r\n") + 4);
      expect(body).not.toContain(API_KEY);
      expect(body).not.toContain(SPOOFED);
      const echo = JSON.parse(body) as { request: { headers: Record<string, unknown>; method: string; path: string; query: unknown } };
      expect(echo.request.headers.cookie).toBe("[redacted]");
      expect(echo.request.headers["x-consumer-username"]).toBe("alice");
      // Ids differ between the two gateways' stores.
      delete echo.request.headers["x-consumer-id"];
      delete echo.request.headers["x-credential-identifier"];
      echoes[engine] = { headers: echo.request.headers, method: echo.request.method, path: echo.request.path, query: echo.request.query };
    }
    expect(echoes.raw).toEqual(echoes.serve);
  });

  test("a spoofed identity field with a space before the colon is a 400; with a control byte raw refuses it and serve drops it: never upstream", async () => {
    for (const line of [`X-Consumer-ID : ${SPOOFED}`, `X-Consumer-ID: ${SPOOFED}\x01`, `X-Consumer-ID: ${SPOOFED}\x7f`]) {
      const request = `GET /reqx/h HTTP/1.1\r\nHost: gw.test\r\n${line}\r\n\r\n`;
      await onBoth(request, (got, engine) => {
        // Bun.serve's parser lets a control byte through in a value (the raw parser refuses it, 400); the cleaning drops the field.
        if (engine === "raw" || line.includes(" :")) expect(`${engine} ${JSON.stringify(line)}: ${got.answer.slice(0, 12)} heads=${got.heads}`).toBe(`${engine} ${JSON.stringify(line)}: HTTP/1.1 400 heads=0`);
        else expect(got.head ?? "").not.toContain(SPOOFED);
      });
    }
  });

  // Raw only: Bun.serve closes a connection with a request pipelined behind a pending one (README, oven-sh/bun#38128).
  test("raw, pipelined: a jwt request and a spoofing request in one write each reach the upstream with their own fields (parsed pairs never shared)", async () => {
    const token = await jwt({ sub: "alice" });
    const first = `GET /jwtc/p1 HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer ${token}\r\nX-One: 1\r\n\r\n`;
    const second = `GET /reqx/p2 HTTP/1.1\r\nHost: gw.test\r\nX-Consumer-Username: ${SPOOFED}\r\nX-Two: 2\r\n\r\n`;
    for (const engine of ["raw"] as ProxyEngine[]) {
      const rig = rigs.get(engine)!;
      const before = rig.upstream.heads.length;
      const got = await talk(rig.gateway.proxy.port, [first + second], 1500, (raw) => raw.split("HTTP/1.1 200 OK").length === 3);
      expect(`${engine}: ${got.raw.split("HTTP/1.1 200 OK").length - 1} answers ${got.raw.slice(0, 200)}`).toStartWith(`${engine}: 2 answers`);
      const heads = rig.upstream.heads.slice(before);
      expect(heads).toHaveLength(2);
      const one = heads.find((head) => head.startsWith("GET /p1"))!;
      const two = heads.find((head) => head.startsWith("GET /p2"))!;
      expect(fieldsNamed(one, "x-consumer-username")).toEqual(["x-consumer-username: alice"]);
      expect(one).not.toContain(token);
      expect(fieldsNamed(one, "x-two")).toEqual([]);
      expect(two).not.toContain(SPOOFED);
      expect(fieldsNamed(two, "x-consumer-username")).toEqual([]);
      expect(fieldsNamed(two, "x-one")).toEqual([]);
      expect(fieldsNamed(two, "authorization")).toEqual([]);
    }
  });

  test("obs-text in a spoofed identity header and in a kept header: the spoof is gone, the kept bytes arrive unchanged on both", async () => {
    const request = `GET /reqx/i HTTP/1.1\r\nHost: gw.test\r\nX-Consumer-Username: \xe9${SPOOFED}\r\nX-Keep: caf\xe9 \xff\r\n\r\n`;
    const fields = await onBoth(request, (got) => {
      expect(got.answer).toStartWith("HTTP/1.1 200");
      expect(got.head).not.toContain(SPOOFED);
      expect(fieldsNamed(got.head!, "x-keep").map((l) => l.toLowerCase())).toEqual(["x-keep: caf\xe9 \xff"]);
    });
    expect(fields.raw).toEqual(fields.serve!);
  });
});

describe("RawHeaders against Fetch Headers: the same operations give the same fields", () => {
  const NAMES = ["X-A", "x-a", "Cookie", "cookie", "Authorization", "x-b", "X-B"];
  const VALUES = ["v", " padded ", "\tt\t", "a, b", "s=1", "caf\xe9", "", "bad\r\nX-Injected: 1", "nul\0", "\u0100", "\x01ctl", "\n lead"];
  test("a thousand random sequences of set, append, delete agree with Headers, refusals included", () => {
    let seed = 7;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let round = 0; round < 1000; round++) {
      const initial = ["cookie", "a=1", "x-a", "first", "cookie", "b=2", "authorization", "Bearer t"];
      const raw = new RawHeaders([...initial]);
      const fetch = new Headers();
      for (let i = 0; i < initial.length; i += 2) fetch.append(initial[i]!, initial[i + 1]!);
      for (let step = 0; step < 6; step++) {
        const op = ["set", "append", "delete"][next(3)]! as "set" | "append" | "delete";
        const name = NAMES[next(NAMES.length)]!;
        const value = VALUES[next(VALUES.length)]!;
        const run = (h: { set(n: string, v: string): void; append(n: string, v: string): void; delete(n: string): void }) => {
          try {
            if (op === "delete") h.delete(name);
            else h[op](name, value);
            return "ok";
          } catch (error) {
            return (error as Error).constructor.name;
          }
        };
        expect(`${op}(${JSON.stringify(name)}, ${JSON.stringify(value)}): ${run(raw)}`).toBe(`${op}(${JSON.stringify(name)}, ${JSON.stringify(value)}): ${run(fetch)}`);
      }
      expect([...raw]).toEqual([...fetch]);
      for (const name of NAMES) expect(raw.get(name)).toBe(fetch.get(name));
      // What the direct path writes (each pair a line) says what Headers holds, joined.
      const lines = new Map<string, string[]>();
      for (let i = 0; i < raw.pairs.length; i += 2) lines.set(raw.pairs[i]!, [...(lines.get(raw.pairs[i]!) ?? []), raw.pairs[i + 1]!]);
      for (const [name, values] of lines) expect(values.join(name === "cookie" ? "; " : ", ")).toBe(fetch.get(name)!);
      for (const value of raw.pairs) expect(value).not.toMatch(/[\r\n\0]/);
    }
  });
});

// The same spoofing read by a real Node `http` upstream in CGI's way (X_Consumer_ID and
// X-Consumer-ID are one variable, the last one wins), which trusts HTTP_X_CONSUMER_ID.
for (const engine of ["raw", "serve"] as ProxyEngine[]) {
  describe(`${engine} engine, Node upstream: what a CGI-style application reads`, () => {
    const ADMIN_ID = "00000000-0000-4000-8000-00000000a000";
    let upstream: NodeUpstream;
    let gateway: TestGateway;
    let aliceId = "";

    beforeAll(async () => {
      upstream = await startNodeUpstream(ADMIN_ID);
      gateway = startTestGateway({ proxyEngine: engine });
      const store = gateway.store;
      store.create("services", { name: "node", url: upstream.url });
      aliceId = (store.create("consumers", { username: "alice" }) as { id: string }).id;
      store.create("jwt_secrets", { key: "alice-key", algorithm: "HS256", secret: SECRET }, { kind: "consumers", id: aliceId });
      const route = store.create("routes", { name: "node-jwt", service: { name: "node" }, paths: ["/node"] }) as { id: string };
      store.create("plugins", { name: "jwt", route: { id: route.id }, config: { hide_credentials: true, claims_to_headers: { role: "X-Role" } } });
    });
    afterAll(async () => {
      await gateway.close();
      await upstream.stop();
    });

    test("spoofed consumer in CGI spellings, after and before the real one: the application reads alice, never the admin", async () => {
      const token = await jwt({ sub: "alice", role: "reader" });
      const spoofs = [`X_Consumer_ID: ${ADMIN_ID}`, `X.Consumer.ID: ${ADMIN_ID}`, `x-consumer-id: ${ADMIN_ID}`, "X_Consumer_Username: admin", "X_Role: admin", `X_Credential_Identifier: ${ADMIN_ID}`].join("\r\n");
      const { raw } = await talk(gateway.proxy.port, [`GET /node/a HTTP/1.1\r\nHost: gw.test\r\n${spoofs}\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`], 300);
      expect(raw).toStartWith("HTTP/1.1 200");
      const echo = JSON.parse(raw.slice(raw.indexOf("\r\n\r\n") + 4)) as NodeEcho;
      expect(echo.trusted).toBe(false);
      expect(echo.cgi.HTTP_X_CONSUMER_ID).toBe(aliceId);
      expect(echo.cgi.HTTP_X_CONSUMER_USERNAME).toBe("alice");
      expect(echo.cgi.HTTP_X_ROLE).toBe("reader");
      expect(echo.cgi.HTTP_X_CREDENTIAL_IDENTIFIER).toBe("alice-key");
      expect(echo.cgi.HTTP_AUTHORIZATION).toBeUndefined();
      expect(JSON.stringify(echo.rawHeaders)).not.toContain(ADMIN_ID);
      expect(JSON.stringify(echo.rawHeaders)).not.toContain("admin");
    });
  });
}
