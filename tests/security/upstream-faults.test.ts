// Upstream faults always end: broken framing answers 502 promptly, read_timeout bounds every
// wait on the upstream (head and body, on both clients), a client that goes away frees its
// upstream socket, connections per upstream are capped, and shutdown does not wait on requests
// whose client has gone. Raw TCP upstreams choose every byte.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConnection } from "node:net";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { type Reply, type ScriptedUpstream, scripted } from "../support/scripted-upstream.ts";

const BAD_GATEWAY = { message: "An invalid response was received from the upstream server" };

let gateway: TestGateway;
let count = 0;
const upstreams: ScriptedUpstream[] = [];

function route(reply: Reply, service: Record<string, unknown> = {}): { path: string; upstream: ScriptedUpstream } {
  const upstream = scripted(reply);
  upstreams.push(upstream);
  const name = `f${++count}`;
  gateway.store.create("services", { name, url: `http://127.0.0.1:${upstream.port}`, retries: 0, read_timeout: 2000, ...service });
  gateway.store.create("routes", { name, service: { name }, paths: [`/${name}`] });
  return { path: `/${name}`, upstream };
}

async function until(condition: () => boolean, withinMs: number): Promise<number> {
  const started = performance.now();
  while (!condition()) {
    if (performance.now() - started > withinMs) throw new Error(`not within ${withinMs} ms`);
    await Bun.sleep(5);
  }
  return performance.now() - started;
}

/** Sends a raw request and drops the connection after `afterMs`, as a client that gives up. */
function abandon(path: string, afterMs: number, extra = ""): void {
  abandonOn(gateway, path, afterMs, extra);
}

function abandonOn(target: TestGateway, path: string, afterMs: number, extra = ""): void {
  const socket = createConnection({ host: "127.0.0.1", port: target.proxy.port }, () => {
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`);
    setTimeout(() => socket.destroy(), afterMs);
  });
  socket.on("error", () => {});
}

beforeAll(() => {
  gateway = startTestGateway();
});
afterAll(async () => {
  await gateway.close();
  for (const upstream of upstreams) upstream.stop();
});

describe("broken framing from the upstream", () => {
  for (const [name, bytes] of [
    ["a bad chunk size in the first packet", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n"],
    ["a chunk size with a sign in the first packet", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n"],
    ["a chunk line without CRLF in the first packet", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n"],
    ["a status line that is not HTTP", "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n"],
    ["two different Content-Lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"],
  ] as const) {
    test(`${name} → 502 at once, the upstream connection closed`, async () => {
      const { path, upstream } = route((socket) => socket.write(bytes));
      const started = performance.now();
      const response = await gateway.request(path);
      expect(response.status).toBe(502);
      expect(await response.json()).toEqual(BAD_GATEWAY);
      expect(performance.now() - started).toBeLessThan(1000);
      await until(() => upstream.open === 0, 1000);
    });
  }

  test("a bad chunk size in a later packet ends the client's body in an error, not a hang", async () => {
    const { path, upstream } = route((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      setTimeout(() => socket.write("ZZ\r\nmore\r\n"), 50);
    });
    const response = await gateway.request(path);
    expect(response.status).toBe(200);
    const started = performance.now();
    await expect(response.text()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1000);
    await until(() => upstream.open === 0, 1000);
  });
});

describe("read_timeout bounds every wait on the upstream", () => {
  test("a body that stops arriving ends in an error after read_timeout, and its socket is closed", async () => {
    const { path, upstream } = route((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"), { read_timeout: 300 });
    const response = await gateway.request(path);
    expect(response.status).toBe(200);
    const started = performance.now();
    await expect(response.text()).rejects.toThrow();
    const waited = performance.now() - started;
    expect(waited).toBeGreaterThan(250);
    expect(waited).toBeLessThan(1500);
    await until(() => upstream.open === 0, 500);
  });

  test("a body that keeps trickling within read_timeout is not cut", async () => {
    const { path } = route(
      (socket) => {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n");
        let sent = 0;
        const timer = setInterval(() => {
          socket.write("x");
          if (++sent === 6) clearInterval(timer);
        }, 100);
      },
      { read_timeout: 300 },
    );
    expect(await (await gateway.request(path)).text()).toBe("xxxxxx");
  });

  test("through fetch (a request with a body): a body that stops arriving ends after read_timeout", async () => {
    const { path, upstream } = route((socket) => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part"), { read_timeout: 300 });
    const response = await gateway.request(path, { method: "POST", body: "a body" });
    expect(response.status).toBe(200);
    const started = performance.now();
    await expect(response.text()).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1500);
    await until(() => upstream.open === 0, 1000);
  });
});

describe("a client that goes away frees its upstream socket", () => {
  test("while the upstream has not answered (gateway's own client)", async () => {
    const { path, upstream } = route(() => {});
    abandon(path, 100);
    await until(() => upstream.open === 1, 1000);
    // The sweep notices within its period once the exchange is older than 50 ms.
    expect(await until(() => upstream.open === 0, 1000)).toBeLessThan(500);
  });

  test("while the upstream has not answered (fetch, a request with a body)", async () => {
    const { path, upstream } = route(() => {});
    const socket = createConnection({ host: "127.0.0.1", port: gateway.proxy.port }, () => {
      socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\n\r\nbody`);
      setTimeout(() => socket.destroy(), 100);
    });
    socket.on("error", () => {});
    await until(() => upstream.open === 1, 1000);
    expect(await until(() => upstream.open === 0, 1000)).toBeLessThan(500);
  });

  test("while the response body streams", async () => {
    const { path, upstream } = route((socket) => {
      socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n");
      const timer = setInterval(() => socket.write(Buffer.alloc(16 * 1024)) > 0 || clearInterval(timer), 5);
    });
    abandon(path, 150);
    await until(() => upstream.open === 1, 1000);
    expect(await until(() => upstream.open === 0, 2000)).toBeLessThan(1000);
  });
});

describe("connections per upstream are capped", () => {
  /** A gateway of its own with `max` connections per upstream, and a route to a scripted upstream. */
  function capped(max: number, reply: Reply): { own: TestGateway; path: string; upstream: ScriptedUpstream } {
    const own = startTestGateway({ upstreamMaxConnections: max });
    const upstream = scripted(reply);
    upstreams.push(upstream);
    own.store.create("services", { name: "capped", url: `http://127.0.0.1:${upstream.port}`, retries: 0, read_timeout: 2000 });
    own.store.create("routes", { name: "capped", service: { name: "capped" }, paths: ["/capped"] });
    return { own, path: "/capped", upstream };
  }

  test("requests beyond the cap wait for a connection and are then served; the upstream never sees more", async () => {
    const held: ((() => void) | null)[] = [];
    const { own, path, upstream } = capped(2, (socket) => held.push(() => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")));
    try {
      const answers = Array.from({ length: 6 }, () => own.request(path).then((response) => response.text()));
      await until(() => held.length === 2, 1000);
      await Bun.sleep(100);
      expect(upstream.open).toBe(2);
      while (held.length < 6 || held.some(Boolean)) {
        const next = held.findIndex(Boolean);
        if (next >= 0) {
          held[next]!();
          held[next] = null;
        }
        await Bun.sleep(10);
      }
      expect(await Promise.all(answers)).toEqual(Array(6).fill("ok"));
      expect(upstream.maxOpen).toBe(2);
    } finally {
      await own.close();
    }
  });

  test("abandoned requests waiting for a capped upstream leave the queue", async () => {
    const { own, path, upstream } = capped(1, () => {});
    const key = `127.0.0.1:${upstream.port}`;
    try {
      for (let i = 0; i < 20; i++) abandonOn(own, path, 80);
      // The gateway's own count: the upstream may see a new connection before it has processed
      // the close of the one the gateway just terminated.
      let most = 0;
      const started = performance.now();
      while (performance.now() - started < 400) {
        most = Math.max(most, own.pool.openCount(key));
        await Bun.sleep(1);
      }
      expect(most).toBe(1);
      await until(() => upstream.open === 0, 1000);
      expect(own.pool.openCount(key)).toBe(0);
    } finally {
      await own.close();
    }
  });
});

test("shutdown does not wait on a request whose client has gone", async () => {
  const own = startTestGateway();
  const silent = scripted(() => {});
  try {
    own.store.create("services", { name: "s", url: `http://127.0.0.1:${silent.port}`, read_timeout: 60_000 });
    own.store.create("routes", { name: "r", service: { name: "s" }, paths: ["/"] });
    const socket = createConnection({ host: "127.0.0.1", port: own.proxy.port }, () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    socket.on("error", () => {});
    await until(() => silent.open === 1, 1000);
    socket.destroy();
    const started = performance.now();
    await own.stop(10_000);
    expect(performance.now() - started).toBeLessThan(1000);
  } finally {
    silent.stop();
  }
});
