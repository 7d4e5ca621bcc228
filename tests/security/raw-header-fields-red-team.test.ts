// Red team of the plugins' work on the raw engine's parsed head (HeaderFields, no Fetch Request):
// what a client sends that a plugin owns, hides or sets must reach the upstream exactly as on
// the serve engine, where Fetch's Headers did the work. Each case runs on both engines against
// a raw byte recorder, which shows every byte of the upstream request.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { SignJWT } from "jose";
import type { ProxyEngine } from "../../src/proxy/engine.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type ByteRecorder, startByteRecorder, talk } from "../support/raw-socket.ts";

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
