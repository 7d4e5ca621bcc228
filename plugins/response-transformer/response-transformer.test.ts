// response-transformer: headers and JSON bodies in Kong's order, the size bound, non-JSON bodies
// untouched, and gateway-owned headers refused on write.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "../../tests/support/gateway.ts";
import { MAX_BUFFERED_BODY_BYTES } from "../../src/pipeline/request-body.ts";

let upstream: ReturnType<typeof Bun.serve>;
beforeAll(() => {
  upstream = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      const headers = { "x-internal": "1", "x-old": "v", "x-mode": "upstream" };
      if (path === "/text") return new Response('{"secret":1}', { headers: { ...headers, "content-type": "text/plain" } });
      if (path === "/big") return Response.json({ secret: 1, pad: "x".repeat(MAX_BUFFERED_BODY_BYTES) }, { headers });
      if (path === "/array") return Response.json([1, 2], { headers });
      return Response.json({ secret: 1, old: "o", mode: "m", list: 1 }, { headers });
    },
  });
});
afterAll(() => upstream.stop(true));

function gateway(config: Record<string, unknown>): TestGateway {
  const g = startTestGateway();
  g.store.create("services", { name: "s", url: `http://127.0.0.1:${upstream.port}` });
  const route = g.store.create("routes", { name: "r", service: { name: "s" }, paths: ["/"], strip_path: false });
  g.store.create("plugins", { name: "response-transformer", route: { id: route.id }, config });
  return g;
}

const CONFIG = {
  remove: { headers: ["x-internal"], json: ["secret"] },
  rename: { headers: ["x-old:x-new"], json: ["old:renamed"] },
  replace: { headers: ["x-mode:gw"], json: ["mode:replaced", "absent:x"] },
  add: { headers: ["x-served-by:gateway"], json: ["source:gateway", "count:3", "mode:no"], json_types: ["string", "number", "string"] },
  append: { json: ["list:2", "tags:a"], json_types: ["number"] },
};

describe("response-transformer", () => {
  test("headers and a JSON object body, in Kong's order; Content-Length follows the new body", async () => {
    const g = gateway(CONFIG);
    try {
      const response = await g.request("/json");
      expect(response.headers.get("x-internal")).toBeNull();
      expect(response.headers.get("x-new")).toBe("v");
      expect(response.headers.get("x-mode")).toBe("gw");
      expect(response.headers.get("x-served-by")).toBe("gateway");
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ renamed: "o", mode: "replaced", list: [1, 2], source: "gateway", count: 3, tags: ["a"] });
      expect(Number(response.headers.get("content-length") ?? text.length)).toBe(text.length);
    } finally {
      await g.close();
    }
  });

  test("non-JSON, non-object and over-1-MiB bodies pass untouched (headers still transformed)", async () => {
    const g = gateway(CONFIG);
    try {
      const text = await g.request("/text");
      expect(await text.text()).toBe('{"secret":1}');
      expect(text.headers.get("x-served-by")).toBe("gateway");
      expect(await (await g.request("/array")).json()).toEqual([1, 2]);
      const big = (await (await g.request("/big")).json()) as Record<string, unknown>;
      expect(big.secret).toBe(1);
    } finally {
      await g.close();
    }
  });

  test("gateway-owned response headers are refused on write", () => {
    const g = startTestGateway();
    try {
      for (const name of ["Content-Length", "X-Request-Id", "Transfer-Encoding", "Connection"]) {
        expect(() => g.store.create("plugins", { name: "response-transformer", config: { add: { headers: [`${name}:1`] } } })).toThrow(/add\.headers\[0\]/);
      }
    } finally {
      void g.close();
    }
  });
});
