// The upstream frame reader against frames built byte by byte: any split of the bytes, fragments
// with control frames between them, and each frame RFC 6455 forbids a server to send.
import { describe, expect, test } from "bun:test";
import { FrameReader, type FrameSink, Opcode, ProtocolViolation, encodeFrame } from "./frames.ts";

/** An unmasked frame, as a server sends it. */
function serverFrame(opcode: number, payload: Uint8Array | string, fin = true, firstByteExtra = 0): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const length = body.length;
  const head = length < 126 ? Buffer.from([0, length]) : length < 65536 ? Buffer.from([0, 126, length >> 8, length & 255]) : Buffer.alloc(10);
  if (length >= 65536) {
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(length), 2);
  }
  head[0] = (fin ? 0x80 : 0) | opcode | firstByteExtra;
  return Buffer.concat([head, body]);
}

function recorder(): { sink: FrameSink; events: unknown[] } {
  const events: unknown[] = [];
  return {
    events,
    sink: {
      text: (message) => events.push(["text", message]),
      binary: (message) => events.push(["binary", Buffer.from(message).toString("hex")]),
      ping: (payload) => events.push(["ping", Buffer.from(payload).toString()]),
      pong: (payload) => events.push(["pong", Buffer.from(payload).toString()]),
      close: (code, reason) => events.push(["close", code, reason]),
    },
  };
}

const close = (code: number, reason: string) => {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code);
  payload.write(reason, 2);
  return serverFrame(Opcode.Close, payload);
};

describe("FrameReader", () => {
  const stream = Buffer.concat([
    serverFrame(Opcode.Text, "héllo"),
    serverFrame(Opcode.Binary, new Uint8Array([1, 2, 3])),
    serverFrame(Opcode.Text, "frag", false),
    serverFrame(Opcode.Ping, "mid"),
    serverFrame(Opcode.Continuation, "men", false),
    serverFrame(Opcode.Continuation, "ted"),
    serverFrame(Opcode.Binary, new Uint8Array(70_000).fill(7)),
    serverFrame(Opcode.Pong, "p"),
    close(4000, "done"),
    serverFrame(Opcode.Text, "after close: never read"),
  ]);
  const expected = [
    ["text", "héllo"],
    ["binary", "010203"],
    ["ping", "mid"],
    ["text", "fragmented"],
    ["binary", "07".repeat(70_000)],
    ["pong", "p"],
    ["close", 4000, "done"],
  ];

  test("whole, and split at every byte", () => {
    const whole = recorder();
    new FrameReader(1 << 20, whole.sink).push(stream);
    expect(whole.events).toEqual(expected);
    const split = recorder();
    const reader = new FrameReader(1 << 20, split.sink);
    for (let i = 0; i < stream.length; i++) reader.push(stream.subarray(i, i + 1));
    expect(split.events).toEqual(expected);
  });

  test.each([
    ["reserved bit set", 1002, serverFrame(Opcode.Text, "x", true, 0x40)],
    ["masked frame", 1002, encodeFrame(Opcode.Text, Buffer.from("x"))],
    ["fragmented ping", 1002, serverFrame(Opcode.Ping, "x", false)],
    ["control frame over 125 bytes", 1002, serverFrame(Opcode.Ping, "x".repeat(126))],
    ["continuation outside a message", 1002, serverFrame(Opcode.Continuation, "x")],
    ["new message inside a fragmented one", 1002, Buffer.concat([serverFrame(Opcode.Text, "a", false), serverFrame(Opcode.Text, "b")])],
    ["unknown opcode", 1002, serverFrame(3, "x")],
    ["close code 1006", 1002, close(1006, "")],
    ["one-byte close payload", 1002, serverFrame(Opcode.Close, new Uint8Array([3]))],
    ["text that is not UTF-8", 1007, serverFrame(Opcode.Text, new Uint8Array([0xc3, 0x28]))],
    ["message over the limit", 1009, serverFrame(Opcode.Binary, new Uint8Array(1025))],
    ["fragments over the limit together", 1009, Buffer.concat([serverFrame(Opcode.Binary, new Uint8Array(600), false), serverFrame(Opcode.Continuation, new Uint8Array(600))])],
  ] as const)("%s → Close %d", (_name, code, bytes) => {
    const reader = new FrameReader(1024, recorder().sink);
    let thrown: unknown;
    try {
      reader.push(bytes);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ProtocolViolation);
    expect((thrown as ProtocolViolation).code).toBe(code);
  });

  test("endless empty fragments meet the limit (each counts what keeping it costs), as do one-byte ones", () => {
    for (const size of [0, 1]) {
      // 1,024 / (128 + size) fragments fit: the ninth empty one, the eighth one-byte one, is over.
      const frames = [serverFrame(Opcode.Binary, new Uint8Array(size), false), ...Array.from({ length: 20 }, () => serverFrame(Opcode.Continuation, new Uint8Array(size), false))];
      const reader = new FrameReader(1024, recorder().sink);
      let pushed = 0;
      let thrown: unknown;
      try {
        for (const frame of frames) {
          reader.push(frame);
          pushed++;
        }
      } catch (error) {
        thrown = error;
      }
      expect((thrown as ProtocolViolation).code).toBe(1009);
      expect(pushed).toBe(size === 0 ? 8 : 7);
    }
  });

  test("a message of exactly the limit in one frame, or of many fragments within it, is delivered whole", () => {
    const events = recorder();
    const reader = new FrameReader(1024, events.sink);
    reader.push(serverFrame(Opcode.Binary, new Uint8Array(1024).fill(1)));
    reader.push(Buffer.concat([serverFrame(Opcode.Binary, new Uint8Array(100).fill(2), false), serverFrame(Opcode.Continuation, new Uint8Array(0), false), serverFrame(Opcode.Continuation, new Uint8Array(100).fill(3))]));
    expect(events.events).toEqual([["binary", "01".repeat(1024)], ["binary", "02".repeat(100) + "03".repeat(100)]]);
  });

  test("text is framed as its UTF-8 bytes", () => {
    const text = "héllo € ".repeat(40);
    const frame = encodeFrame(Opcode.Text, text);
    const bytes = Buffer.from(text, "utf8");
    expect([frame[0], frame[1]! & 0x7f, frame.readUInt16BE(2)]).toEqual([0x81, 126, bytes.length]);
    const mask = frame.subarray(4, 8);
    expect(Buffer.from(frame.subarray(8).map((byte, i) => byte ^ mask[i & 3]!)).toString("utf8")).toBe(text);
  });

  test("the frames the gateway sends are masked and decode back to the payload", () => {
    for (const size of [0, 5, 125, 126, 65535, 65536, 200_003]) {
      const payload = crypto.getRandomValues(new Uint8Array(size));
      const frame = encodeFrame(Opcode.Binary, payload);
      expect(frame[0]).toBe(0x82);
      expect(frame[1]! & 0x80).toBe(0x80);
      const lengthBytes = size < 126 ? 0 : size < 65536 ? 2 : 8;
      const mask = frame.subarray(2 + lengthBytes, 6 + lengthBytes);
      const body = frame.subarray(6 + lengthBytes).map((byte, i) => byte ^ mask[i & 3]!);
      expect(Buffer.compare(Buffer.from(body), Buffer.from(payload))).toBe(0);
    }
  });
});
