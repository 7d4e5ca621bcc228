// cors through the real proxy: Kong 3.x's preflight answer and response headers, origin
// matching (`*`, exact with default ports, regexes), credentials, private network, and the
// interplay with jwt (a preflight needs no token, the request itself does).
import { beforeAll, describe, expect, test } from "bun:test";
import { type AuthRig, sign, signingKey, type SigningKey, startAuthRig } from "../../tests/support/auth.ts";
import { normalizeOrigin } from "./handler.ts";

const corsHeaders = (response: Response) =>
  Object.fromEntries([...response.headers].filter(([name]) => name.startsWith("access-control-") || name === "vary"));

const PREFLIGHT = { origin: "https://app.example", "access-control-request-method": "POST" };

async function withRig(config: Record<string, unknown>, run: (r: AuthRig) => Promise<void>, extra: { name: string; config?: Record<string, unknown> }[] = []): Promise<void> {
  const r = startAuthRig([{ name: "cors", config }, ...extra]);
  try {
    await run(r);
  } finally {
    await r.close();
  }
}

describe("preflight (OPTIONS with Origin and Access-Control-Request-Method)", () => {
  test("defaults: 200, no body, Allow-Origin *, Kong's method list, requested headers echoed; not proxied", () =>
    withRig({}, async (r) => {
      const response = await r.get("/api", { ...PREFLIGHT, "access-control-request-headers": "x-a, content-type" }, { method: "OPTIONS" });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("");
      expect(response.headers.get("x-upstream")).toBeNull();
      expect(corsHeaders(response)).toEqual({
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT",
        "access-control-allow-headers": "x-a, content-type",
      });
    }));

  test("configured: exact origin, methods, headers, max_age, credentials, Vary: Origin", () =>
    withRig({ origins: ["https://app.example"], methods: ["GET", "POST"], headers: ["X-A", "X-B"], max_age: 3600, credentials: true }, async (r) => {
      const response = await r.get("/api", PREFLIGHT, { method: "OPTIONS" });
      expect(response.status).toBe(200);
      expect(corsHeaders(response)).toEqual({
        "access-control-allow-origin": "https://app.example",
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET,POST",
        "access-control-allow-headers": "X-A,X-B",
        "access-control-max-age": "3600",
        vary: "Origin",
      });
    }));

  test("an origin not listed: 200 without Allow-Origin (the browser refuses), still Vary: Origin", () =>
    withRig({ origins: ["https://app.example"] }, async (r) => {
      const response = await r.get("/api", { ...PREFLIGHT, origin: "https://evil.example" }, { method: "OPTIONS" });
      expect(response.status).toBe(200);
      const headers = corsHeaders(response);
      expect(headers["access-control-allow-origin"]).toBeUndefined();
      expect(headers.vary).toBe("Origin");
    }));

  test("credentials with origins *: the request's origin is echoed (credentials cannot go with *)", () =>
    withRig({ credentials: true }, async (r) => {
      const headers = corsHeaders(await r.get("/api", PREFLIGHT, { method: "OPTIONS" }));
      expect(headers).toMatchObject({ "access-control-allow-origin": "https://app.example", "access-control-allow-credentials": "true", vary: "Origin" });
    }));

  test("private_network: Access-Control-Allow-Private-Network only when asked", () =>
    withRig({ private_network: true }, async (r) => {
      const asked = await r.get("/api", { ...PREFLIGHT, "access-control-request-private-network": "true" }, { method: "OPTIONS" });
      expect(asked.headers.get("access-control-allow-private-network")).toBe("true");
      const notAsked = await r.get("/api", PREFLIGHT, { method: "OPTIONS" });
      expect(notAsked.headers.get("access-control-allow-private-network")).toBeNull();
    }));

  test("preflight_continue: the preflight goes to the upstream, without the plugin's headers", () =>
    withRig({ preflight_continue: true }, async (r) => {
      const response = await r.get("/api", PREFLIGHT, { method: "OPTIONS" });
      expect(response.headers.get("x-upstream")).toBe("echo");
      expect(corsHeaders(response)).toEqual({});
    }));

  test("OPTIONS without Access-Control-Request-Method is not a preflight: proxied, with the response headers", () =>
    withRig({}, async (r) => {
      const response = await r.get("/api", { origin: "https://app.example" }, { method: "OPTIONS" });
      expect(response.headers.get("x-upstream")).toBe("echo");
      expect(response.headers.get("access-control-allow-origin")).toBe("*");
    }));
});

describe("actual requests", () => {
  test("exposed_headers and Allow-Origin added to the upstream's response, with Vary: Origin", () =>
    withRig({ origins: ["https://app.example"], exposed_headers: ["X-Total", "X-Page"], credentials: true }, async (r) => {
      const response = await r.get("/api", { origin: "https://app.example" });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(corsHeaders(response)).toEqual({
        "access-control-allow-origin": "https://app.example",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "X-Total,X-Page",
        vary: "Origin",
      });
    }));
});

describe("origin matching as Kong does it", () => {
  const cases: [string, string[], string, string | undefined][] = [
    ["exact", ["https://a.example"], "https://a.example", "https://a.example"],
    ["exact, another scheme", ["https://a.example"], "http://a.example", undefined],
    ["default port ignored on both sides", ["https://a.example:443"], "https://a.example", "https://a.example"],
    ["request's default port dropped", ["http://a.example"], "http://a.example:80", "http://a.example"],
    ["another port", ["https://a.example"], "https://a.example:8443", undefined],
    ["regex", ["https://.*\\.example\\.com"], "https://api.example.com", "https://api.example.com"],
    ["regex anchored at the end", ["https://.*\\.example\\.com"], "https://api.example.com.evil.net", undefined],
    ["regex anchored at the start", ["https://.*\\.example\\.com"], "http://x.https://a.example.com", undefined],
    ["* among others is a regex, an invalid one (as in PCRE): never matches", ["https://a.example", "*"], "https://b.example", undefined],
  ];
  for (const [name, origins, origin, expected] of cases) {
    test(`${name}: ${origin} → ${expected ?? "no Allow-Origin"}`, () =>
      withRig({ origins }, async (r) => {
        const response = await r.get("/api", { origin });
        await response.arrayBuffer();
        expect(response.headers.get("access-control-allow-origin") ?? undefined).toBe(expected);
      }));
  }
  test("normalizeOrigin", () => {
    expect(normalizeOrigin("https://a.example:443")).toBe("https://a.example");
    expect(normalizeOrigin("http://a.example:8080/path")).toBe("http://a.example:8080");
    expect(normalizeOrigin("null")).toBe("null");
  });
});

describe("cors (2000) before jwt (1450)", () => {
  let hs: SigningKey;
  beforeAll(async () => {
    hs = await signingKey("HS256");
  });

  test("a preflight without a token gets cors's 200; the request itself still needs a token", () =>
    withRig(
      { origins: ["https://app.example"] },
      async (r) => {
        const preflight = await r.get("/api", PREFLIGHT, { method: "OPTIONS" });
        expect(preflight.status).toBe(200);
        expect(preflight.headers.get("access-control-allow-origin")).toBe("https://app.example");
        const withoutToken = await r.get("/api", { origin: "https://app.example" });
        expect(withoutToken.status).toBe(401);
        await withoutToken.arrayBuffer();
        const consumer = r.gateway.store.create("consumers", { username: "alice" });
        r.gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: consumer.id });
        const withToken = await r.get("/api", { origin: "https://app.example", authorization: `Bearer ${await sign(hs, { iss: "alice-key" })}` });
        expect(withToken.status).toBe(200);
        await withToken.arrayBuffer();
        expect(withToken.headers.get("access-control-allow-origin")).toBe("https://app.example");
      },
      [{ name: "jwt" }],
    ));
});
