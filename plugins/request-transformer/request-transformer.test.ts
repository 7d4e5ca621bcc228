// request-transformer: Kong's order of operations on request headers, query parameters removed,
// and configs refused on write (gateway-owned headers, what the proxy cannot transform).
import { describe, expect, test } from "bun:test";
import { echoOf, startAuthRig } from "../../tests/support/auth.ts";

describe("request-transformer", () => {
  test("remove, rename, replace, add, append in Kong's order; remove.querystring", async () => {
    const r = startAuthRig([
      {
        name: "request-transformer",
        config: {
          remove: { headers: ["x-debug"], querystring: ["debug"] },
          rename: { headers: ["x-old:x-new"] },
          replace: { headers: ["x-mode:replaced", "x-absent:never"] },
          add: { headers: ["x-team:billing", "x-mode:not-added", "x-new:not-added"] },
          append: { headers: ["x-list:appended"] },
        },
      },
    ]);
    try {
      const echo = await echoOf(await r.get("/api?debug=1&keep=2", { "x-debug": "1", "x-old": "moved", "x-mode": "client", "x-list": "first" }));
      expect(echo.headers["x-debug"]).toBeUndefined();
      expect(echo.headers["x-old"]).toBeUndefined();
      expect(echo.headers["x-new"]).toBe("moved");
      expect(echo.headers["x-mode"]).toBe("replaced");
      expect(echo.headers["x-absent"]).toBeUndefined();
      expect(echo.headers["x-team"]).toBe("billing");
      expect(echo.headers["x-list"]).toBe("first, appended");
      expect(echo.query).toBe("?keep=2");
    } finally {
      await r.close();
    }
  });

  test("a value beyond ASCII goes as its UTF-8 bytes, as Kong sends it (no request fails on it)", async () => {
    const r = startAuthRig([{ name: "request-transformer", config: { add: { headers: ["x-city:Z\u00fcrich \u0100"] } } }]);
    try {
      const response = await r.get("/api");
      expect(response.status).toBe(200);
      const echo = await echoOf(response);
      expect(Buffer.from(echo.headers["x-city"]!, "latin1").toString("utf8")).toBe("Z\u00fcrich \u0100");
    } finally {
      await r.close();
    }
  });

  test("refused on write, naming the field", () => {
    const r = startAuthRig([]);
    try {
      const create = (config: Record<string, unknown>) => () => r.gateway.store.create("plugins", { name: "request-transformer", config });
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ add: { headers: ["X-Consumer-ID:admin"] } }, /add\.headers\[0\].*set by the gateway/],
        [{ replace: { headers: ["X-Forwarded-For:1.2.3.4"] } }, /replace\.headers\[0\]/],
        [{ rename: { headers: ["x-user:X-Credential-Identifier"] } }, /rename\.headers\[0\]/],
        [{ append: { headers: ["X_Consumer_Username:bob"] } }, /append\.headers\[0\]/],
        [{ remove: { headers: ["x-anonymous-consumer"] } }, /remove\.headers\[0\]/],
        [{ add: { headers: ["Host:evil"] } }, /add\.headers\[0\]/],
        [{ add: { headers: ["no-colon"] } }, /add\.headers\[0\]/],
        [{ add: { headers: ["x-team:a\r\nx-injected: 1"] } }, /add\.headers\[0\].*control character/],
        [{ append: { headers: ["x-ok:fine", "x-team:a\nb"] } }, /append\.headers\[1\].*control character/],
        [{ replace: { headers: ["x-team:a\u0000b"] } }, /replace\.headers\[0\].*control character/],
      ];
      for (const [config, message] of cases) expect(create(config)).toThrow(message);
      expect(create({ add: { headers: ["X-Team:billing"] } })).not.toThrow();
    } finally {
      void r.close();
    }
  });
});
