// correlation-id through the real proxy: Kong 3.x's header, generators and echo_downstream,
// and how the header relates to the gateway's request id (one id per request when generated).
import { describe, expect, test } from "bun:test";
import { type AuthRig, echoOf, startAuthRig } from "../../tests/support/auth.ts";

async function withRig(config: Record<string, unknown>, run: (r: AuthRig) => Promise<void>, extra: { name: string; config?: Record<string, unknown> }[] = []): Promise<void> {
  const r = startAuthRig([{ name: "correlation-id", config }, ...extra]);
  try {
    await run(r);
  } finally {
    await r.close();
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("upstream header", () => {
  test("defaults: Kong-Request-ID generated as the gateway's request id (upstream and client see one id); not echoed", () =>
    withRig({}, async (r) => {
      const response = await r.get("/api");
      const echo = await echoOf(response);
      const id = echo.headers["kong-request-id"]!;
      expect(id).toMatch(UUID);
      expect(echo.headers["x-request-id"]).toBe(id);
      expect(response.headers.get("x-request-id")).toBe(id);
      expect(response.headers.get("kong-request-id")).toBeNull();
    }));

  test("a client's correlation header is kept as it is (Kong); X-Request-Id stays the gateway's own", () =>
    withRig({ echo_downstream: true }, async (r) => {
      const response = await r.get("/api", { "kong-request-id": "client-chosen-1" });
      const echo = await echoOf(response);
      expect(echo.headers["kong-request-id"]).toBe("client-chosen-1");
      expect(echo.headers["x-request-id"]).toMatch(UUID);
      expect(response.headers.get("kong-request-id")).toBe("client-chosen-1");
    }));

  test("an empty client header is replaced by a generated id", () =>
    withRig({}, async (r) => {
      const echo = await echoOf(await r.get("/api", { "kong-request-id": "" }));
      expect(echo.headers["kong-request-id"]).toMatch(UUID);
    }));

  test("a client's X-Request-Id is the request id, so the generated correlation id follows it", () =>
    withRig({ header_name: "X-Correlation-ID" }, async (r) => {
      const echo = await echoOf(await r.get("/api", { "x-request-id": "req-42" }));
      expect(echo.headers["x-correlation-id"]).toBe("req-42");
      expect(echo.headers["x-request-id"]).toBe("req-42");
    }));

  test("header_name X-Request-ID: the plugin and the gateway agree on one header and one value", () =>
    withRig({ header_name: "X-Request-ID", echo_downstream: true }, async (r) => {
      const response = await r.get("/api");
      const echo = await echoOf(response);
      expect(echo.headers["x-request-id"]).toMatch(UUID);
      expect(response.headers.get("x-request-id")).toBe(echo.headers["x-request-id"]!);
    }));

  test("header_name null means Kong-Request-ID", () =>
    withRig({ header_name: null }, async (r) => {
      expect((await echoOf(await r.get("/api"))).headers["kong-request-id"]).toMatch(UUID);
    }));
});

describe("generators", () => {
  test("uuid#counter: one process uuid, a counter that grows", () =>
    withRig({ generator: "uuid#counter", echo_downstream: true }, async (r) => {
      const first = (await r.get("/api")).headers.get("kong-request-id")!;
      const second = (await r.get("/api")).headers.get("kong-request-id")!;
      const [uuidA, nA] = first.split("#");
      const [uuidB, nB] = second.split("#");
      expect(uuidA).toMatch(UUID);
      expect(uuidB).toBe(uuidA!);
      expect(Number(nB)).toBeGreaterThan(Number(nA));
    }));

  test("tracker: host-port-pid-counter-1-epoch seconds", () =>
    withRig({ generator: "tracker", echo_downstream: true }, async (r) => {
      const id = (await r.get("/api")).headers.get("kong-request-id")!;
      const port = new URL(r.gateway.proxyUrl).port;
      expect(id).toMatch(new RegExp(`^127\\.0\\.0\\.1-${port}-${process.pid}-\\d+-1-\\d+\\.\\d{3}$`));
    }));
});

describe("echo_downstream", () => {
  test("true: the response carries the id the upstream got", () =>
    withRig({ echo_downstream: true, header_name: "X-Correlation-ID" }, async (r) => {
      const response = await r.get("/api");
      const echo = await echoOf(response);
      expect(response.headers.get("x-correlation-id")).toBe(echo.headers["x-correlation-id"]!);
    }));

  test("the echoed id is the one chosen before later plugins rewrite the upstream copy", () =>
    withRig(
      { echo_downstream: true, header_name: "X-Correlation-ID" },
      async (r) => {
        const response = await r.get("/api", { "x-correlation-id": "c-1" });
        const echo = await echoOf(response);
        expect(echo.headers["x-correlation-id"]).toBe("rewritten");
        expect(response.headers.get("x-correlation-id")).toBe("c-1");
      },
      [{ name: "request-transformer", config: { replace: { headers: ["X-Correlation-ID:rewritten"] } } }],
    ));
});

describe("config checks", () => {
  for (const name of ["Host", "Content-Length", "X-Consumer-ID", "X-Forwarded-For", "Connection", "X-Real-IP"]) {
    test(`header_name ${name} is refused (the gateway owns it)`, async () => {
      const r = startAuthRig([]);
      try {
        expect(() => r.gateway.store.create("plugins", { name: "correlation-id", config: { header_name: name } })).toThrow(/the gateway owns/);
      } finally {
        await r.close();
      }
    });
  }

  test("an unknown generator is refused", async () => {
    const r = startAuthRig([]);
    try {
      expect(() => r.gateway.store.create("plugins", { name: "correlation-id", config: { generator: "random" } })).toThrow();
    } finally {
      await r.close();
    }
  });
});
