// The 64 MiB for request bodies still arriving (src/pipeline/request-body.ts), attacked: bodies
// of tiny chunks that hold far more than the budget counts, and a client sending fresh stalled
// bodies to crowd out another's slow one. Clients are told apart by X-Forwarded-For from a
// trusted loopback peer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type Socket, createConnection } from "node:net";
import { type BodyRig, startBodyRig } from "../support/body-rig.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { talk } from "../support/raw-socket.ts";

async function open(port: number, sockets: Socket[], onData?: (text: string) => void): Promise<Socket> {
  const socket = createConnection({ host: "127.0.0.1", port });
  socket.on("error", () => {});
  if (onData) socket.on("data", (d) => onData(d.toString("latin1")));
  sockets.push(socket);
  await new Promise((resolve) => socket.once("connect", resolve));
  return socket;
}

describe.each(["raw", "serve"] as const)("on the %s engine", (engine) => {
  const echo = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: async (r) => new Response(`got ${(await r.text()).length}`) });
  let gateway: TestGateway;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    gateway = startTestGateway({ proxyEngine: engine, trustedIps: "127.0.0.1" });
    gateway.store.create("services", { name: "echo", url: `http://127.0.0.1:${echo.port}` });
    const keyed = gateway.store.create("routes", { name: "keyed", service: { name: "echo" }, paths: ["/keyed"] });
    gateway.store.create("plugins", { name: "key-auth", route: { id: keyed.id }, config: { key_in_body: true, anonymous: null } });
    const edited = gateway.store.create("routes", { name: "edited", service: { name: "echo" }, paths: ["/edited"] });
    gateway.store.create("plugins", { name: "request-transformer", route: { id: edited.id }, config: { remove: { body: ["admin"] } } });
    await Bun.sleep(200);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await gateway.close();
    echo.stop(true);
  });

  test("a chunked body of 1-byte chunks holds about its bytes (it held ~80 bytes of heap per byte counted)", async () => {
    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    const chunks = 250_000;
    const body = Buffer.from("1\r\na\r\n".repeat(chunks));
    for (let i = 0; i < 4; i++) {
      const s = await open(gateway.proxy.port, sockets);
      s.write("POST /keyed HTTP/1.1\r\nHost: gw\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (let o = 0; o < body.length; o += 60_000) {
        s.write(body.subarray(o, o + 60_000));
        await Bun.sleep(1);
      }
    }
    await Bun.sleep(1500);
    Bun.gc(true);
    const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
    // 4 x 250,000 body bytes are all the budget sees (1 MB of 64 MiB): 64 such bodies fit, and
    // the per-body bound lets each grow to 1 MiB, i.e. ~100 MB of heap per connection.
    expect(grownMb).toBeLessThan(15);
    for (const s of sockets.splice(0)) s.destroy();
  }, 30_000);

  test("a client's body that takes 1.5 s is read whole while another client sends 70 fresh stalled bodies: the one holding the most gives way", async () => {
    let victim = "";
    const v = await open(gateway.proxy.port, sockets, (t) => (victim += t));
    const size = 150_000;
    v.write(`POST /edited HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 203.0.113.7\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n{"pad":"`);
    let sent = `{"pad":"`.length;
    const trickle = (async () => {
      while (sent < size - 2 && victim === "") {
        const n = Math.min(10_000, size - 2 - sent);
        v.write("p".repeat(n));
        sent += n;
        await Bun.sleep(100);
      }
      if (victim === "") v.write('"}');
    })();
    await Bun.sleep(200); // the victim's read has started: the attacker's bodies are all newer
    const piece = Buffer.alloc(1024 * 1024 - 100, 97);
    for (let i = 0; i < 70; i++) {
      const s = await open(gateway.proxy.port, sockets);
      s.write(`POST /keyed HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 198.51.100.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
      s.write(piece);
    }
    await trickle;
    await Bun.sleep(500);
    expect(victim.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    expect(victim).toEndWith(`got ${size}`);
    for (const s of sockets.splice(0)) s.destroy();
  }, 30_000);
});

describe("chunked data of one read goes as one piece (raw engine), bytes and order intact", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await startBodyRig((gateway) => {
      const added = gateway.store.create("routes", { name: "added", service: { name: "node" }, paths: ["/added"], strip_path: false });
      gateway.store.create("plugins", { name: "request-transformer", route: { id: added.id }, config: { add: { body: ["z:1"] } } });
    }, { proxyEngine: "raw" });
    await Bun.sleep(150);
  });
  afterAll(() => r.close());

  test.each(["/api", "/added"])("%s: extensions, a size line split across reads, a trailer, then a pipelined request", async (path) => {
    const head = `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const next = `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;
    const answer = await talk(r.gateway.proxy.port, [`${head}1;ext="a;b"\r\nA\r\n2\r\nBC\r\n1`, 30, "\r\nD\r\n3\r", 30, `\nEFG\r\n0\r\nX-T: y\r\n\r\n${next}`], 600);
    const bodies = [...answer.raw.matchAll(/"body":"([^"]*)"/g)].map((match) => Buffer.from(match[1]!, "base64").toString());
    expect(bodies).toEqual(["ABCDEFG", ""]);
  });
});
