// request-termination through the real proxy: Kong 3.x's statuses, default messages, raw
// bodies, the echo (secrets redacted) and the trigger; config checks with Kong's messages.
import { describe, expect, test } from "bun:test";
import { type AuthRig, startAuthRig } from "../../tests/support/auth.ts";

async function withRig(config: Record<string, unknown>, run: (r: AuthRig) => Promise<void>): Promise<void> {
  const r = startAuthRig([{ name: "request-termination", config }]);
  try {
    await run(r);
  } finally {
    await r.close();
  }
}

describe("answers (Kong's behaviour table)", () => {
  const table: [string, Record<string, unknown>, number, string, string][] = [
    ["defaults", {}, 503, "application/json; charset=utf-8", '{"message":"Service unavailable"}'],
    ["404, Kong's default message", { status_code: 404 }, 404, "application/json; charset=utf-8", '{"message":"Not found"}'],
    ["401", { status_code: 401 }, 401, "application/json; charset=utf-8", '{"message":"Unauthorized"}'],
    ["405", { status_code: 405 }, 405, "application/json; charset=utf-8", '{"message":"Method not allowed"}'],
    ["500", { status_code: 500 }, 500, "application/json; charset=utf-8", '{"message":"An unexpected error occurred"}'],
    ["502", { status_code: 502 }, 502, "application/json; charset=utf-8", '{"message":"Bad Gateway"}'],
    ["a status without a default message: {}", { status_code: 418 }, 418, "application/json; charset=utf-8", "{}"],
    ["403 with a message", { status_code: 403, message: "Access is forbidden." }, 403, "application/json; charset=utf-8", '{"message":"Access is forbidden."}'],
    ["body and content_type", { status_code: 200, body: "<h1>down</h1>", content_type: "text/html" }, 200, "text/html", "<h1>down</h1>"],
  ];
  for (const [name, config, status, contentType, body] of table) {
    test(`${name} → ${status} ${body}`, () =>
      withRig(config, async (r) => {
        const response = await r.get("/api/x");
        expect(response.status).toBe(status);
        expect(response.headers.get("content-type")).toBe(contentType);
        expect(await response.text()).toBe(body);
        expect(response.headers.get("x-upstream")).toBeNull();
        expect(response.headers.get("x-request-id")).toBeTruthy();
      }));
  }

  test("204: no body", () =>
    withRig({ status_code: 204 }, async (r) => {
      const response = await r.get("/api");
      expect(response.status).toBe(204);
      expect(await response.text()).toBe("");
    }));
});

describe("trigger", () => {
  test("without the header or query argument the request is proxied; with either (any value) it is terminated", () =>
    withRig({ trigger: "X-Maintenance" }, async (r) => {
      const passed = await r.get("/api");
      expect(passed.status).toBe(200);
      expect(passed.headers.get("x-upstream")).toBe("echo");
      expect((await r.get("/api", { "x-maintenance": "" })).status).toBe(503);
      expect((await r.get("/api", { "X-Maintenance": "1" })).status).toBe(503);
      expect((await r.get("/api?X-Maintenance")).status).toBe(503);
      expect((await r.get("/api?a=1&X-Maintenance=yes")).status).toBe(503);
      // query arguments are case-sensitive, as Kong's
      expect((await r.get("/api?x-maintenance=1")).status).toBe(200);
    }));
});

describe("echo", () => {
  test("Kong's shape: message, request (scheme, host, port, method, path, headers, query), matched route and service; credentials redacted", () =>
    withRig({ echo: true, status_code: 418 }, async (r) => {
      const response = await r.get("/api/items?page=2&flag&apikey=s3cret&tag=a&tag=b", { authorization: "Bearer abc", "x-trace": "t1", cookie: "sid=1" });
      expect(response.status).toBe(418);
      expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
      const echo = (await response.json()) as any;
      expect(Object.keys(echo).sort()).toEqual(["matched_route", "matched_service", "request"]);
      expect(echo.request).toMatchObject({ scheme: "http", host: "127.0.0.1", method: "GET", path: "/api/items", query: { page: "2", flag: true, apikey: "[redacted]", tag: ["a", "b"] } });
      expect(echo.request.port).toBe(Number(new URL(r.gateway.proxyUrl).port));
      expect(echo.request.headers).toMatchObject({ authorization: "[redacted]", cookie: "[redacted]", "x-trace": "t1" });
      expect(echo.matched_route).toMatchObject({ id: r.routeId, name: "api", paths: ["/api"] });
      expect(echo.matched_service).toMatchObject({ name: "echo", protocol: "http" });
      expect(echo.matched_service.host).toBeUndefined();
      expect(JSON.stringify(echo)).not.toContain("s3cret");
      expect(JSON.stringify(echo)).not.toContain("Bearer abc");
    }));

  test("with the default status the echo carries Kong's message", () =>
    withRig({ echo: true }, async (r) => {
      const echo = (await (await r.get("/api")).json()) as any;
      expect(echo.message).toBe("Service unavailable");
    }));
});

describe("config checks (Kong's messages)", () => {
  const refusals: [Record<string, unknown>, string, string][] = [
    [{ message: "m", body: "b" }, "message", "message cannot be used with content_type or body"],
    [{ content_type: "text/plain" }, "content_type", "content_type requires a body"],
    [{ echo: true, body: "b" }, "echo", "echo cannot be used with content_type and body"],
    [{ status_code: 100 }, "status_code", "an informational status (1xx) cannot end a request"],
  ];
  for (const [config, field, message] of refusals) {
    test(`${JSON.stringify(config)} → ${field}: ${message}`, async () => {
      const r = startAuthRig([]);
      try {
        let error: unknown;
        try {
          r.gateway.store.create("plugins", { name: "request-termination", config });
        } catch (caught) {
          error = caught;
        }
        expect((error as { fields?: Record<string, string> })?.fields?.[`config.${field}`] ?? (error as { fields?: Record<string, string> })?.fields?.[field]).toBe(message);
      } finally {
        await r.close();
      }
    });
  }

  test("status_code outside 100..599 is refused by the schema", async () => {
    const r = startAuthRig([]);
    try {
      expect(() => r.gateway.store.create("plugins", { name: "request-termination", config: { status_code: 600 } })).toThrow();
    } finally {
      await r.close();
    }
  });
});
