// Proxy behaviour of SPEC §4.1–4.5 through a real listener and real upstreams on loopback.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type TestGateway, startTestGateway } from "./support/gateway.ts";
import { type Echo, type TestUpstream, startUpstream } from "./support/upstream.ts";

let upstream: TestUpstream;
let gateway: TestGateway;

beforeAll(() => {
  upstream = startUpstream();
  gateway = startTestGateway();
  const { store } = gateway;
  store.create("services", { name: "echo", url: `${upstream.url}/base` });
  store.create("services", { name: "root", url: upstream.url });
  store.create("routes", { name: "api", service: { name: "echo" }, paths: ["/api"] });
  store.create("routes", { name: "api-v2", service: { name: "root" }, paths: ["/api/v2"] });
  store.create("routes", { name: "keep", service: { name: "root" }, paths: ["/keep"], strip_path: false });
  store.create("routes", { name: "host", service: { name: "root" }, paths: ["/h"], preserve_host: true });
  store.create("routes", { name: "regex", service: { name: "root" }, paths: ["~/users/\\d+$"], strip_path: false });
  store.create("routes", { name: "regex-hi", service: { name: "root" }, paths: ["~/users/\\d+/x"], regex_priority: 10, strip_path: false });
  store.create("routes", { name: "wild", service: { name: "echo" }, hosts: ["*.example.com"], paths: ["/w"] });
  store.create("routes", { name: "exact", service: { name: "root" }, hosts: ["a.example.com"], paths: ["/w"] });
  store.create("routes", { name: "only-post", service: { name: "root" }, paths: ["/m"], methods: ["POST"] });
  store.create("routes", { name: "any-method", service: { name: "echo" }, paths: ["/m"] });
});
afterAll(async () => {
  await gateway.close();
  await upstream.stop();
});

async function echo(path: string, init?: RequestInit): Promise<{ res: Response; body: Echo }> {
  const res = await gateway.request(path, init);
  return { res, body: (await res.json()) as Echo };
}

describe("forwarding", () => {
  for (const method of ["GET", "POST", "PUT", "DELETE", "PATCH"]) {
    test(`${method} is proxied with path, query, headers and body intact`, async () => {
      const hasBody = method !== "GET";
      const { res, body } = await echo("/api/items/7?q=a%20b&list=1&list=2", {
        method,
        headers: { "x-custom": "value", "content-type": "text/plain" },
        body: hasBody ? `payload of ${method}` : undefined,
      });
      expect(res.status).toBe(200);
      expect(body.method).toBe(method);
      expect(body.path).toBe("/base/items/7");
      expect(body.query).toBe("?q=a%20b&list=1&list=2");
      expect(body.headers["x-custom"]).toBe("value");
      expect(body.body).toBe(hasBody ? `payload of ${method}` : "");
      expect(res.headers.get("x-upstream")).toBe("echo");
    });
  }

  test("forwarded headers are set and Host is the upstream's", async () => {
    const { res, body } = await echo("/api/x", { headers: { "x-forwarded-for": "10.1.1.1", host: "client.test:8000" } });
    expect(body.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(body.headers["x-forwarded-for"]).toBe("10.1.1.1, 127.0.0.1");
    expect(body.headers["x-real-ip"]).toBe("127.0.0.1");
    expect(body.headers["x-forwarded-proto"]).toBe("http");
    expect(body.headers["x-forwarded-host"]).toBe("client.test");
    expect(body.headers["x-forwarded-port"]).toBe(String(gateway.proxy.port));
    expect(body.headers["x-forwarded-prefix"]).toBe("/api");
    expect(body.headers["x-request-id"]).toBe(res.headers.get("x-request-id")!);
    expect(Number(res.headers.get("x-gateway-upstream-latency"))).toBeGreaterThanOrEqual(0);
    expect(Number(res.headers.get("x-gateway-proxy-latency"))).toBeGreaterThanOrEqual(0);
  });

  test("a client X-Request-Id is kept and returned", async () => {
    const { res, body } = await echo("/api/x", { headers: { "x-request-id": "trace-123" } });
    expect(body.headers["x-request-id"]).toBe("trace-123");
    expect(res.headers.get("x-request-id")).toBe("trace-123");
  });

  test("hop-by-hop headers are not forwarded", async () => {
    const { body } = await echo("/api/x", { headers: { connection: "x-secret-hop", "x-secret-hop": "1", "proxy-connection": "keep-alive", te: "trailers" } });
    expect(body.headers["x-secret-hop"]).toBeUndefined();
    expect(body.headers["proxy-connection"]).toBeUndefined();
    expect(body.headers.te).toBeUndefined();
  });
  test("hop-by-hop headers of the upstream's response are not passed on", async () => {
    const hop = startUpstream(() => new Response("ok", { headers: { connection: "x-upstream-hop", "x-upstream-hop": "1", "keep-alive": "timeout=5", "x-kept": "yes" } }));
    try {
      gateway.store.create("services", { name: "hop", url: hop.url });
      gateway.store.create("routes", { name: "hop", service: { name: "hop" }, paths: ["/hop"] });
      const res = await gateway.request("/hop");
      expect(await res.text()).toBe("ok");
      expect(res.headers.get("x-upstream-hop")).toBeNull();
      expect(res.headers.get("keep-alive")).toBeNull();
      expect(res.headers.get("x-kept")).toBe("yes");
    } finally {
      await hop.stop();
    }
  });
});

describe("route matching", () => {
  test("longest prefix wins and strip_path strips the matched prefix", async () => {
    expect((await echo("/api/v2/things")).body.path).toBe("/things");
    expect((await echo("/api/v1/things")).body.path).toBe("/base/v1/things");
  });

  test("a stripped path that leaves nothing goes to the service path", async () => {
    expect((await echo("/api")).body.path).toBe("/base");
    expect((await echo("/api/v2")).body.path).toBe("/");
  });

  test("strip_path false keeps the full path", async () => {
    expect((await echo("/keep/a/b")).body.path).toBe("/keep/a/b");
  });

  test("preserve_host sends the client's Host", async () => {
    const { body } = await echo("/h/x", { headers: { host: "client.example:1234" } });
    expect(body.headers.host).toBe("client.example:1234");
  });

  test("regex paths match anchored, by regex_priority", async () => {
    expect((await echo("/users/42")).body.path).toBe("/users/42");
    const high = await gateway.request("/users/42/x");
    expect(high.status).toBe(200);
    expect((await gateway.request("/users/abc")).status).toBe(404);
    expect((await gateway.request("/prefix/users/42")).status).toBe(404);
  });

  test("wildcard and exact hosts; exact host is more specific", async () => {
    expect((await echo("/w/1", { headers: { host: "b.example.com" } })).body.path).toBe("/base/1");
    expect((await echo("/w/1", { headers: { host: "a.example.com" } })).body.path).toBe("/1");
    expect((await gateway.request("/w/1", { headers: { host: "example.com" } })).status).toBe(404);
    expect((await gateway.request("/w/1", { headers: { host: "b.example.org" } })).status).toBe(404);
  });

  test("a method restriction makes a route more specific", async () => {
    expect((await echo("/m/1", { method: "POST", body: "x" })).body.path).toBe("/1");
    expect((await echo("/m/1")).body.path).toBe("/base/1");
  });
});

describe("error responses", () => {
  test("no route → 404", async () => {
    const res = await gateway.request("/nothing-here");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await res.json()).toEqual({ message: "no Route matched with those values" });
  });

  test("unreachable upstream → 502, after retries", async () => {
    const closed = startUpstream();
    const port = closed.port;
    await closed.stop();
    gateway.store.create("services", { name: "dead", url: `http://127.0.0.1:${port}`, retries: 2 });
    gateway.store.create("routes", { name: "dead", service: { name: "dead" }, paths: ["/dead"] });
    const res = await gateway.request("/dead");
    expect(res.status).toBe(502);
    expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
    expect(await res.json()).toEqual({ message: "An invalid response was received from the upstream server" });
  });

  test("slow upstream → 504 after read_timeout", async () => {
    const slow = startUpstream(async () => {
      await Bun.sleep(1500);
      return new Response("late");
    });
    try {
      gateway.store.create("services", { name: "slow", url: slow.url, read_timeout: 200 });
      gateway.store.create("routes", { name: "slow", service: { name: "slow" }, paths: ["/slow"] });
      const started = performance.now();
      const res = await gateway.request("/slow");
      expect(res.status).toBe(504);
      expect(await res.json()).toEqual({ message: "The upstream server is timing out" });
      expect(performance.now() - started).toBeLessThan(1200);
    } finally {
      await slow.stop();
    }
  });

  test("an upstream that closes mid-response truncates the reply; the gateway stays up", async () => {
    const raw = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        data(socket) {
          socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: text/plain\r\n\r\npartial body");
          setTimeout(() => socket.end(), 20);
        },
      },
    });
    try {
      gateway.store.create("services", { name: "cut", url: `http://127.0.0.1:${raw.port}` });
      gateway.store.create("routes", { name: "cut", service: { name: "cut" }, paths: ["/cut"] });
      const outcome = await gateway.request("/cut").then(
        async (res) => {
          try {
            const text = await res.text();
            return { status: res.status, complete: text.length === 100000 };
          } catch {
            return { status: res.status, complete: false };
          }
        },
        () => ({ status: 0, complete: false }),
      );
      expect(outcome.complete).toBe(false);
      expect((await gateway.request("/api/after")).status).toBe(200);
    } finally {
      raw.stop(true);
    }
  });

  test("a disabled service answers 503", async () => {
    gateway.store.create("services", { name: "off", url: upstream.url, enabled: false });
    gateway.store.create("routes", { name: "off", service: { name: "off" }, paths: ["/off"] });
    const res = await gateway.request("/off");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: "Service unavailable" });
  });
});

describe("metrics", () => {
  test("requests are counted by route and status", async () => {
    const before = gateway.metrics.requestCount("keep", 200);
    await gateway.request("/keep/1");
    await gateway.request("/keep/2");
    expect(gateway.metrics.requestCount("keep", 200)).toBe(before + 2);
    expect(gateway.metrics.render(gateway.state.current.version)).toContain('gateway_http_requests_total{route="keep",status="200"}');
  });
});
