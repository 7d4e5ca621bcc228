// The raw engine's red-team third pass (tests/security/raw-engine-findings.md, "Third pass"):
// state that outlives one request. Each test failed before its fix; both engines where the
// serve engine answers the same way.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createConnection } from "node:net";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { talk } from "../support/raw-socket.ts";

const ENGINES = ["raw", "serve"] as const;
const MIB2 = 2 * 1024 * 1024;

describe.each(ENGINES)("T1 (high): a client that leaves before its answer frees the upstream connection, on the %s engine", (engine) => {
  // An upstream that answers every request at once with a 2 MiB body, which loopback's buffers
  // take whole: a gateway that stops reading one leaves its connection open, unfinished.
  const body = Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${MIB2}\r\n\r\n`), Buffer.alloc(MIB2, 97)]);
  const upstream = Bun.listen<undefined>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(socket) {
        setTimeout(() => socket.write(body), 5);
      },
    },
  });
  let gateway: TestGateway;

  beforeAll(() => {
    // Two connections at most: two left behind would hold the service for every later client.
    gateway = startTestGateway({ proxyEngine: engine, upstreamMaxConnections: 2 });
    gateway.store.create("services", { name: "big", url: `http://127.0.0.1:${upstream.port}`, connect_timeout: 2000 });
    // cors has a response phase: the answer comes back as a Response (the raw engine's fetch path).
    const withPhase = gateway.store.create("routes", { name: "phase", service: { name: "big" }, paths: ["/phase"] });
    gateway.store.create("plugins", { name: "cors", route: { id: withPhase.id } });
    gateway.store.create("routes", { name: "direct", service: { name: "big" }, paths: ["/direct"] });
  });

  afterAll(async () => {
    await gateway.close();
    upstream.stop(true);
  });

  test.each(["/phase", "/direct"])("%s: six clients that close 2 ms after asking, then the next client is served", async (path) => {
    for (let i = 0; i < 6; i++) {
      const client = createConnection({ host: "127.0.0.1", port: gateway.proxy.port });
      await new Promise((resolve) => client.once("connect", resolve));
      client.write(`GET ${path}/${i} HTTP/1.1\r\nHost: x\r\nOrigin: http://o.test\r\n\r\n`);
      await Bun.sleep(2);
      client.destroy();
      await Bun.sleep(30);
    }
    // Before the fix the raw engine's fetch path kept each upstream connection, paused with no
    // read deadline, and this request waited for one until its connect_timeout (504).
    const after = await talk(gateway.proxy.port, [`GET ${path}/after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`], 4000);
    expect(after.raw.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
  });
});

describe("T2 (low): a connection whose request head was not all written is never reused", () => {
  // A Python upstream with a 4 KiB receive buffer that never reads while the test runs and
  // answers on its newest connection every 5 ms, 400 times: once the kernel's buffers are full,
  // a head is only partly written when its answer comes. On "dump" it reads what each got.
  const python = Bun.spawn(
    [
      "python3",
      "-c",
      `import socket, sys, threading, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096); s.bind(("127.0.0.1", 0)); s.listen(8)
print(s.getsockname()[1], flush=True)
conns = []
def acceptor():
    while True:
        c, _ = s.accept(); conns.append(c)
def ticker():
    answered = 0
    while answered < 400:
        time.sleep(0.005)
        if conns:
            try:
                conns[-1].sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok")
                answered += 1
            except OSError: pass
threading.Thread(target=acceptor, daemon=True).start()
threading.Thread(target=ticker, daemon=True).start()
sys.stdin.readline()
out = b""
for c in conns:
    got = b""
    c.settimeout(0.5)
    try:
        while True:
            d = c.recv(1 << 20)
            if not d: break
            got += d
    except OSError: pass
    out += b"CONN %d\\n" % len(got) + got
sys.stdout.buffer.write(b"DUMP %d\\n" % len(out) + out); sys.stdout.flush()
`,
    ],
    { stdin: "pipe", stdout: "pipe", stderr: "inherit" },
  );
  let printed = Buffer.alloc(0);
  const reading = (async () => {
    for await (const chunk of python.stdout as ReadableStream<Uint8Array>) printed = Buffer.concat([printed, chunk]);
  })();
  let gateway: TestGateway;

  beforeAll(async () => {
    while (!/^\d+\n/.test(printed.toString("latin1"))) await Bun.sleep(20);
    gateway = startTestGateway({ proxyEngine: "raw" });
    gateway.store.create("services", { name: "deaf", url: `http://127.0.0.1:${Number.parseInt(printed.toString("latin1"), 10)}` });
    gateway.store.create("routes", { name: "deaf", service: { name: "deaf" }, paths: ["/"] });
  });

  afterAll(async () => {
    await gateway.close();
    python.kill();
    await reading;
  });

  test("400 pipelined 30 KiB heads: the upstream receives each head it gets whole, never one cut short by the next", async () => {
    const pad = "p".repeat(30 * 1024);
    const client = createConnection({ host: "127.0.0.1", port: gateway.proxy.port });
    let answers = 0;
    client.on("data", (bytes) => (answers += (bytes.toString("latin1").match(/HTTP\/1\.1 200/g) ?? []).length));
    await new Promise((resolve) => client.once("connect", resolve));
    for (let i = 0; i < 400; i++) client.write(`GET /req${String(i).padStart(4, "0")} HTTP/1.1\r\nHost: x\r\nX-Pad: ${pad}\r\n\r\n`);
    // Answers sent on a connection the gateway has just closed are lost: wait until none come.
    for (let seen = -1, waited = 0; answers !== seen && waited < 20_000; waited += 600) {
      seen = answers;
      await Bun.sleep(600);
    }
    client.destroy();
    expect(answers).toBeGreaterThan(300);
    python.stdin.write("dump\n");
    python.stdin.flush();
    // The dump's header comes first; its megabytes may take a few more reads to arrive.
    let dumped: RegExpExecArray | null = null;
    const dumpComplete = () => dumped !== null && printed.length - dumped.index - dumped[0].length >= Number(dumped[1]);
    for (let waited = 0; !dumpComplete() && waited < 10_000; waited += 50) {
      await Bun.sleep(50);
      dumped = /DUMP (\d+)\n/.exec(printed.toString("latin1"));
    }
    const text = printed.toString("latin1");
    let at = dumped!.index + dumped![0].length;
    expect(text.length - at).toBe(Number(dumped![1]));
    // Per upstream connection, every head but its last (which a closed connection may cut) is
    // whole. Before the fix a connection whose head was written in part went back to the pool,
    // the rest of that head was dropped, and the next request's head followed the cut.
    const cut: string[] = [];
    while (at < text.length) {
      const line = /^CONN (\d+)\n/.exec(text.slice(at, at + 32))!;
      const stream = text.slice(at + line[0].length, at + line[0].length + Number(line[1]));
      at += line[0].length + stream.length;
      const heads = stream.split("GET /req").slice(1);
      for (const head of heads.slice(0, -1)) {
        if (!/^\d{4} HTTP\/1\.1\r\nhost: [^\r]*\r\nx-pad: p{30720}\r\n(?:[a-z-]+: [^\r]*\r\n)*\r\n$/.test(head)) cut.push(`${head.slice(0, 8)}...${head.slice(-40)}`);
      }
    }
    expect(cut).toEqual([]);
  }, 40_000);
});
