// The request body plugins read: the bound (a declared length past it is not read at all), one
// read per request, what the upstream gets after a read, past the bound, or a replacement.
import { describe, expect, test } from "bun:test";
import { BodyCrowdedOut, BufferedRequestBody, MAX_ARRIVING_BODY_BYTES, MAX_BUFFERED_BODY_BYTES } from "./request-body.ts";

/** A POST whose body is `pieces`, counting how many the stream was asked for. */
function post(pieces: string[], headers: Record<string, string> = {}): { request: Request; pulls: () => number } {
  let pulled = 0;
  const queue = pieces.map((piece) => new TextEncoder().encode(piece));
  const body = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        pulled++;
        const next = queue.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    },
    { highWaterMark: 0 },
  );
  return { request: new Request("http://gateway.test/", { method: "POST", body, headers, duplex: "half" } as RequestInit), pulls: () => pulled };
}

const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

async function streamed(body: BufferedRequestBody): Promise<string> {
  const upstream = body.upstream();
  if (!(upstream instanceof ReadableStream)) throw new Error(`expected a stream, got ${upstream}`);
  return new Response(upstream).text();
}

describe("BufferedRequestBody", () => {
  test("within the bound: the whole body, read once, and the same bytes go upstream", async () => {
    const { request, pulls } = post(["ab", "cd"]);
    const body = new BufferedRequestBody(request, "127.0.0.1");
    const first = await body.read(10);
    expect(text(first)).toBe("abcd");
    const afterFirst = pulls();
    expect(await body.read(10)).toBe(first!);
    expect(pulls()).toBe(afterFirst);
    expect(body.upstream()).toBe(first!);
  });

  test("a second reader with a smaller bound gets null, the body still goes whole", async () => {
    const body = new BufferedRequestBody(post(["abcd"]).request, "127.0.0.1");
    await body.read(10);
    expect(await body.read(3)).toBeNull();
    expect(text(body.upstream() as Uint8Array)).toBe("abcd");
  });

  test("a Content-Length past the bound: null, nothing read, the client's stream goes untouched", async () => {
    const { request, pulls } = post(["abcdef"], { "content-length": "6" });
    const body = new BufferedRequestBody(request, "127.0.0.1");
    expect(await body.read(5)).toBeNull();
    expect(pulls()).toBe(0);
    expect(body.upstream()).toBeNull();
  });

  test("a chunked body past the bound: null, and upstream gets the bytes read first, then the rest, in order", async () => {
    const body = new BufferedRequestBody(post(["abc", "def", "ghi", "jkl"]).request, "127.0.0.1");
    expect(await body.read(5)).toBeNull();
    expect(await body.read(4)).toBeNull();
    expect(await streamed(body)).toBe("abcdefghijkl");
  });

  test("a larger bound after a null reads on from where the first stopped", async () => {
    const body = new BufferedRequestBody(post(["abc", "def", "ghi"]).request, "127.0.0.1");
    expect(await body.read(2)).toBeNull();
    expect(text(await body.read(100))).toBe("abcdefghi");
  });

  test("no body: empty bytes, and the request goes as it is", async () => {
    const body = new BufferedRequestBody(new Request("http://gateway.test/", { method: "POST" }), "127.0.0.1");
    expect((await body.read(10))!.byteLength).toBe(0);
    expect(body.upstream()).toBeNull();
  });

  test("a replacement is what later readers and the upstream get", async () => {
    const body = new BufferedRequestBody(post(["abc"]).request, "127.0.0.1");
    await body.read(10);
    body.replace(new TextEncoder().encode("xyz!"));
    expect(text(await body.read(10))).toBe("xyz!");
    expect(text(body.upstream() as Uint8Array)).toBe("xyz!");
  });

  test("a client gone mid-body is ClientGone, not an internal error", async () => {
    const controller = new AbortController();
    const stream = new ReadableStream<Uint8Array>({
      pull(out) {
        controller.abort();
        out.error(new Error("connection reset"));
      },
    });
    const request = new Request("http://gateway.test/", { method: "POST", body: stream, signal: controller.signal, duplex: "half" } as RequestInit);
    await expect(new BufferedRequestBody(request, "127.0.0.1").read(10)).rejects.toThrow("the client closed the connection");
  });
});

describe("the bound on bodies still arriving, over all requests", () => {
  test("slow clients holding bodies near the bound: past the total, the longest arriving are given up, and a body that arrives at once is read whole", async () => {
    const piece = new Uint8Array(MAX_BUFFERED_BODY_BYTES - 1024).fill(97);
    const cancelled: unknown[] = [];
    const controllers: ReadableStreamDefaultController<Uint8Array>[] = [];
    /** A POST whose client sent one piece and then stalls. */
    const stalled = () =>
      new Request("http://gateway.test/", {
        method: "POST",
        duplex: "half",
        body: new ReadableStream<Uint8Array>({ start: (controller) => (controllers.push(controller), controller.enqueue(piece)), cancel: (reason) => void cancelled.push(reason) }, { highWaterMark: 0 }),
      } as RequestInit);
    const fitting = Math.floor(MAX_ARRIVING_BODY_BYTES / piece.byteLength);
    const outcome = (read: Promise<Uint8Array | null>) =>
      read.then(
        () => "read" as const,
        (error) => (error instanceof BodyCrowdedOut ? ("crowded out" as const) : ("other" as const)),
      );
    const waiting = Array.from({ length: fitting }, () => outcome(new BufferedRequestBody(stalled(), "127.0.0.1").read(MAX_BUFFERED_BODY_BYTES)));
    await Bun.sleep(20);
    const now = () => Promise.all(waiting.map((read) => Promise.race([read, Bun.sleep(20).then(() => "waiting" as const)])));
    expect((await now()).every((state) => state === "waiting")).toBe(true);
    // Three more slow bodies pass the total, then one that arrives at once: the oldest four give way.
    for (let i = 0; i < 3; i++) waiting.push(outcome(new BufferedRequestBody(stalled(), "127.0.0.1").read(MAX_BUFFERED_BODY_BYTES)));
    const { request } = post(["a".repeat(600_000), "b".repeat(600_000).slice(0, 400_000), "cd"]);
    expect(text(await new BufferedRequestBody(request, "127.0.0.1").read(MAX_BUFFERED_BODY_BYTES))?.length).toBe(1_000_002);
    const states = await now();
    const crowdedOut = states.flatMap((state, at) => (state === "crowded out" ? [at] : []));
    expect(crowdedOut).toEqual([0, 1, 2, 3]);
    expect(states.filter((state) => state === "waiting").length).toBe(states.length - 4);
    expect(cancelled.length).toBe(4);
    expect(cancelled.every((reason) => reason instanceof BodyCrowdedOut)).toBe(true);
    // The rest finish: nothing of theirs stays counted for the next test.
    for (const [at, controller] of controllers.entries()) if (!crowdedOut.includes(at)) controller.close();
    expect(new Set(await Promise.all(waiting))).toEqual(new Set(["crowded out", "read"]));
  });

  test("the client holding the most gives way: another client's smaller body, arriving for longer, is read whole", async () => {
    const piece = new Uint8Array(MAX_BUFFERED_BODY_BYTES - 1024).fill(97);
    let victim!: ReadableStreamDefaultController<Uint8Array>;
    const slow = new Request("http://gateway.test/", {
      method: "POST",
      duplex: "half",
      body: new ReadableStream<Uint8Array>({ start: (controller) => void (victim = controller) }, { highWaterMark: 0 }),
    } as RequestInit);
    const victimRead = new BufferedRequestBody(slow, "2001:db8:1:2::9").read(MAX_BUFFERED_BODY_BYTES);
    victim.enqueue(new Uint8Array(100_000).fill(118));
    await Bun.sleep(5);
    // Another client, from addresses of one IPv6 /64, sends 70 bodies near the bound and stalls.
    const crowding: ReadableStreamDefaultController<Uint8Array>[] = [];
    const crowd = Array.from({ length: 70 }, (_, i) =>
      new BufferedRequestBody(
        new Request("http://gateway.test/", {
          method: "POST",
          duplex: "half",
          body: new ReadableStream<Uint8Array>({ start: (controller) => (crowding.push(controller), controller.enqueue(piece)) }, { highWaterMark: 0 }),
        } as RequestInit),
        `2001:db8:aaaa:1::${i.toString(16)}`,
      )
        .read(MAX_BUFFERED_BODY_BYTES)
        .then(
          () => "read" as const,
          (error) => (error instanceof BodyCrowdedOut ? ("crowded out" as const) : ("other" as const)),
        ),
    );
    await Bun.sleep(20);
    victim.enqueue(new Uint8Array(50_000).fill(119));
    victim.close();
    expect((await victimRead)?.byteLength).toBe(150_000);
    const states = await Promise.all(crowd.map((read) => Promise.race([read, Bun.sleep(20).then(() => "waiting" as const)])));
    expect(states.filter((state) => state === "crowded out").length).toBe(7);
    expect(states.slice(0, 7)).toEqual(Array(7).fill("crowded out"));
    for (const controller of crowding.slice(7)) controller.close();
    expect((await Promise.all(crowd)).filter((state) => state === "read").length).toBe(63);
  });

  test("a body of 1-byte chunks is read whole, in order", async () => {
    const pieces = Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(97 + (i % 26)));
    const { request } = post(pieces);
    expect(text(await new BufferedRequestBody(request, "127.0.0.1").read(MAX_BUFFERED_BODY_BYTES))).toBe(pieces.join(""));
    const past = post(pieces);
    const body = new BufferedRequestBody(past.request, "127.0.0.1");
    expect(await body.read(5000)).toBeNull();
    expect(await streamed(body)).toBe(pieces.join(""));
  });
});
