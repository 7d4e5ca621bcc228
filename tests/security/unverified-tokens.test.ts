// A JWT the jwt plugin refused never reaches the upstream. With `anonymous` (optional
// authentication, or Kong's logical OR beside key-auth) the request goes on, and Kong sends the
// refused token with it: an upstream that reads the token's claims, trusting that the gateway
// verified them, then acts on forged ones (`"role":"admin"` in an alg:none token). Here the token
// is removed from every place the plugin reads, however it failed; a verified token still goes on
// (hide_credentials off). Through the real proxy on the engine GATEWAY_PROXY_ENGINE picks (the
// file is in SERVE_FILES), to a Node `http` upstream that records what it got.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { base64url } from "jose";
import { type SigningKey, sign, signingKey } from "../support/auth.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "../support/node-upstream.ts";

let upstream: NodeUpstream;
let gateway: TestGateway;
let key: SigningKey;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  upstream = await startNodeUpstream("none");
  gateway = startTestGateway();
  key = await signingKey("HS256");
  gateway.store.create("services", { name: "node", url: upstream.url });
  gateway.store.create("consumers", { username: "guest" });
  gateway.store.create("consumers", { username: "alice" });
  gateway.store.create("jwt_secrets", { consumer: { username: "alice" }, key: "alice-iss", ...key.credential });
  gateway.store.create("keyauth_credentials", { consumer: { username: "alice" }, key: "alice-api-key" });
  const jwt = { uri_param_names: ["jwt"], cookie_names: ["jwt"], claims_to_verify: ["exp"], anonymous: "guest" };
  const optional = gateway.store.create("routes", { service: { name: "node" }, paths: ["/optional"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: optional.id }, config: jwt });
  const either = gateway.store.create("routes", { service: { name: "node" }, paths: ["/either"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: either.id }, config: jwt });
  gateway.store.create("plugins", { name: "key-auth", route: { id: either.id }, config: { anonymous: "guest" } });
  gateway.store.create("basicauth_credentials", { consumer: { username: "alice" }, username: "alice", password: "alice-password" });
  const basic = gateway.store.create("routes", { service: { name: "node" }, paths: ["/basic"] });
  gateway.store.create("plugins", { name: "basic-auth", route: { id: basic.id }, config: { anonymous: "guest" } });
  const keyed = gateway.store.create("routes", { service: { name: "node" }, paths: ["/keyed"] });
  gateway.store.create("plugins", { name: "key-auth", route: { id: keyed.id }, config: { anonymous: "guest", key_names: ["apikey", "x-key"], key_in_body: true } });
});
afterAll(async () => {
  await gateway.close();
  await upstream.stop();
});

/** The forged token: claims the client chose, no signature (alg none), as an attacker sends it. */
const forged = `${base64url.encode('{"alg":"none","typ":"JWT"}')}.${base64url.encode(JSON.stringify({ iss: "alice-iss", sub: "alice", role: "admin" }))}.`;

async function through(path: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; echo: NodeEcho; consumer: string | undefined }> {
  const response = await gateway.request(path, body === undefined ? { headers } : { method: "POST", headers, body });
  expect(response.status).toBe(200);
  const echo = (await response.json()) as NodeEcho;
  return { status: response.status, echo, consumer: echo.cgi.HTTP_X_CONSUMER_USERNAME };
}

/** Every request line and header value the upstream got, as one text to search for a token. */
const everything = (echo: NodeEcho) => `${echo.url}\n${echo.rawHeaders.map(([name, value]) => `${name}: ${value}`).join("\n")}`;

describe("a refused token is removed before the request goes on as anonymous", () => {
  const refused: [string, () => Promise<string>][] = [
    ["alg none", async () => forged],
    ["a wrong signature", async () => `${forged}${base64url.encode("x".repeat(32))}`],
    ["expired", async () => sign(key, { iss: "alice-iss", role: "admin", exp: now() - 60 })],
    ["an unknown issuer", async () => sign(key, { iss: "nobody", role: "admin", exp: now() + 60 })],
  ];
  for (const [name, token] of refused) {
    test(`${name}: in the Authorization header, a cookie and the query, each removed`, async () => {
      const value = await token();
      for (const [path, headers] of [
        ["/optional/a", { authorization: `Bearer ${value}` }],
        ["/optional/a", { cookie: `theme=dark; jwt=${value}` }],
        [`/optional/a?x=1&jwt=${value}`, {}],
      ] as [string, Record<string, string>][]) {
        const { echo, consumer } = await through(path, headers);
        expect({ path, consumer, anonymous: echo.cgi.HTTP_X_ANONYMOUS_CONSUMER }).toEqual({ path, consumer: "guest", anonymous: "true" });
        expect({ path, token: everything(echo).includes(value.split(".")[1]!) }).toEqual({ path, token: false });
      }
    });
  }

  test("the other cookies and query parameters stay", async () => {
    const { echo } = await through(`/optional/a?x=1&jwt=${forged}&y=2`, { cookie: `theme=dark; jwt=${forged}; lang=en` });
    expect(echo.url).toBe("/a?x=1&y=2");
    expect(echo.cgi.HTTP_COOKIE).toBe("theme=dark; lang=en");
  });

  test("two different tokens (refused as several): both removed", async () => {
    const good = await sign(key, { iss: "alice-iss", exp: now() + 60 });
    const { echo, consumer } = await through(`/optional/a?jwt=${good}`, { authorization: `Bearer ${forged}` });
    expect(consumer).toBe("guest");
    expect(echo.url).toBe("/a");
    expect(echo.cgi.HTTP_AUTHORIZATION).toBeUndefined();
  });

  test("a Bearer value that is no token is removed; a Basic one, not the plugin's, stays", async () => {
    const bearer = await through("/optional/a", { authorization: "Bearer not-a-token" });
    expect(bearer.echo.cgi.HTTP_AUTHORIZATION).toBeUndefined();
    const basic = await through("/optional/a", { authorization: "Basic YWxpY2U6c2VjcmV0" });
    expect({ consumer: basic.consumer, authorization: basic.echo.cgi.HTTP_AUTHORIZATION }).toEqual({ consumer: "guest", authorization: "Basic YWxpY2U6c2VjcmV0" });
  });

  test("a verified token goes on (hide_credentials is off), with its consumer", async () => {
    const good = await sign(key, { iss: "alice-iss", exp: now() + 60 });
    const { echo, consumer } = await through("/optional/a", { authorization: `Bearer ${good}` });
    expect({ consumer, authorization: echo.cgi.HTTP_AUTHORIZATION }).toEqual({ consumer: "alice", authorization: `Bearer ${good}` });
  });
});

describe("Kong's logical OR: key-auth authenticates, the refused token does not go with it", () => {
  test("a forged token beside a valid API key: alice by her key, no token upstream", async () => {
    const { echo, consumer } = await through("/either/a", { authorization: `Bearer ${forged}`, apikey: "alice-api-key" });
    const seen: Record<string, string | null> = { consumer: consumer ?? null, anonymous: echo.cgi.HTTP_X_ANONYMOUS_CONSUMER ?? null, authorization: echo.cgi.HTTP_AUTHORIZATION ?? null };
    expect(seen).toEqual({ consumer: "alice", anonymous: null, authorization: null });
  });
});

const basicOf = (text: string) => `Basic ${Buffer.from(text).toString("base64")}`;

describe("a refused Basic credential or API key is removed too", () => {
  test("basic-auth: a wrong password, an unknown user or a malformed value, in either field → guest, no Basic value upstream", async () => {
    for (const value of [basicOf("alice:wrong"), basicOf("mallory:x"), "Basic !!!", basicOf("alice")]) {
      for (const field of ["authorization", "proxy-authorization"]) {
        const { echo, consumer } = await through("/basic/a", { [field]: value });
        const seen: Record<string, string | null | undefined> = { field, value, consumer, authorization: echo.cgi.HTTP_AUTHORIZATION ?? null, proxy: echo.cgi.HTTP_PROXY_AUTHORIZATION ?? null };
        expect(seen).toEqual({ field, value, consumer: "guest", authorization: null, proxy: null });
      }
    }
  });

  test("basic-auth: a Bearer value is not its own and stays; a verified Basic value goes on", async () => {
    const bearer = await through("/basic/a", { authorization: "Bearer opaque" });
    expect({ consumer: bearer.consumer, authorization: bearer.echo.cgi.HTTP_AUTHORIZATION }).toEqual({ consumer: "guest", authorization: "Bearer opaque" });
    const good = basicOf("alice:alice-password");
    const verified = await through("/basic/a", { authorization: good });
    expect({ consumer: verified.consumer, authorization: verified.echo.cgi.HTTP_AUTHORIZATION }).toEqual({ consumer: "alice", authorization: good });
  });

  test("key-auth: an unknown key in a header, the query or the body, or a duplicate → guest, no key name upstream, the rest intact", async () => {
    const header = await through("/keyed/a?x=1", { "x-key": "guessed" });
    const headerSeen: Record<string, string | null | undefined> = { consumer: header.consumer, key: header.echo.cgi.HTTP_X_KEY ?? null, url: header.echo.url };
    expect(headerSeen).toEqual({ consumer: "guest", key: null, url: "/a?x=1" });
    for (const path of ["/keyed/a?x=1&apikey=guessed&y=2", "/keyed/a?x=1&apikey=one&apikey=two&y=2"]) {
      const query = await through(path);
      expect({ path, consumer: query.consumer, url: query.echo.url }).toEqual({ path, consumer: "guest", url: "/a?x=1&y=2" });
    }
    const body = await through("/keyed/a", { "content-type": "application/x-www-form-urlencoded" }, "x=1&apikey=guessed&y=2");
    expect({ consumer: body.consumer, body: Buffer.from(body.echo.body, "base64").toString() }).toEqual({ consumer: "guest", body: "x=1&y=2" });
  });

  test("key-auth: a valid key goes on (hide_credentials is off)", async () => {
    const { echo, consumer } = await through("/keyed/a?apikey=alice-api-key");
    expect({ consumer, url: echo.url }).toEqual({ consumer: "alice", url: "/a?apikey=alice-api-key" });
  });
});
