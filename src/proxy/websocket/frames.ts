// RFC 6455 framing for the gateway's own side of an upstream WebSocket: the frames it sends are
// masked (a client's must be, §5.3), the frames it reads must not be. The raw engine, serving
// clients itself, reads masked frames and sends unmasked ones. Reassembles fragmented
// messages and checks what the relay would otherwise pass on blindly: reserved bits (no
// extension is negotiated), control-frame limits, close codes, UTF-8 of text.

export const enum Opcode {
  Continuation = 0,
  Text = 1,
  Binary = 2,
  Close = 8,
  Ping = 9,
  Pong = 10,
}

/** A frame the upstream may not send: the relay ends with `code` (RFC 6455 §7.4.1). */
export class ProtocolViolation extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** A masked frame holding `payload` whole (FIN set); text is written into it as UTF-8. */
export function encodeFrame(opcode: Opcode, payload: Uint8Array | string): Buffer {
  const length = typeof payload === "string" ? Buffer.byteLength(payload, "utf8") : payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const start = 2 + lengthBytes + 4;
  // The payload is masked four bytes at a time (4x faster than byte by byte), so the frame sits
  // in its own buffer at an offset that puts the payload on a 4-byte boundary.
  const pad = (4 - (start & 3)) & 3;
  const frame = Buffer.from(new ArrayBuffer(pad + start + length), pad, start + length);
  frame[0] = 0x80 | opcode;
  if (lengthBytes === 0) frame[1] = 0x80 | length;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  const maskAt = start - 4;
  crypto.getRandomValues(frame.subarray(maskAt, start));
  const m0 = frame[maskAt]!, m1 = frame[maskAt + 1]!, m2 = frame[maskAt + 2]!, m3 = frame[maskAt + 3]!;
  if (typeof payload === "string") frame.write(payload, start, "utf8");
  else frame.set(payload, start);
  const words = length >>> 2;
  const mask = LITTLE_ENDIAN ? (m0 | (m1 << 8) | (m2 << 16) | (m3 << 24)) >>> 0 : ((m0 << 24) | (m1 << 16) | (m2 << 8) | m3) >>> 0;
  const view = new Uint32Array(frame.buffer, pad + start, words);
  for (let i = 0; i < words; i++) view[i] ^= mask;
  for (let i = words << 2; i < length; i++) frame[start + i] ^= frame[maskAt + (i & 3)]!;
  return frame;
}

/** An unmasked frame holding `payload` whole (FIN set), as a server sends it to a client. */
export function encodeServerFrame(opcode: Opcode, payload: Uint8Array | string): Buffer {
  const length = typeof payload === "string" ? Buffer.byteLength(payload, "utf8") : payload.length;
  const start = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(start + length);
  frame[0] = 0x80 | opcode;
  if (start === 2) frame[1] = length;
  else if (start === 4) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 0x100000000), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  if (typeof payload === "string") frame.write(payload, start, "utf8");
  else frame.set(payload, start);
  return frame;
}

/** The payload of a Close frame: no code (1005) is an empty payload. */
export function closePayload(code: number, reason: string): Buffer {
  if (code === NO_STATUS) return Buffer.alloc(0);
  const text = Buffer.from(reason, "utf8");
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return payload;
}

/** RFC 6455 §7.1.5: a Close frame without a code. */
export const NO_STATUS = 1005;

/** Codes a peer may put in a Close frame (§7.4.1 and the IANA registry): not 1004-1006 nor 1015. */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export interface FrameSink {
  text(message: string): void;
  binary(message: Uint8Array): void;
  ping(payload: Uint8Array): void;
  pong(payload: Uint8Array): void;
  close(code: number, reason: string): void;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ProtocolViolation(1007, "text that is not UTF-8");
  }
}

/** A copy of a client's `payload` with the mask at `data[maskAt..maskAt + 4)` removed. */
function unmask(payload: Buffer, data: Buffer, maskAt: number): Buffer {
  const out = Buffer.allocUnsafe(payload.length);
  const m0 = data[maskAt]!, m1 = data[maskAt + 1]!, m2 = data[maskAt + 2]!, m3 = data[maskAt + 3]!;
  for (let i = 0; i < payload.length; i++) out[i] = payload[i]! ^ (i % 4 === 0 ? m0 : i % 4 === 1 ? m1 : i % 4 === 2 ? m2 : m3);
  return out;
}

/**
 * What keeping one fragment costs besides its bytes (a Buffer and its slot, about 100 bytes):
 * counted towards the message limit, so a message of endless empty fragments meets it too.
 */
const FRAGMENT_COST = 128;

/** Reads the frames of one connection as its bytes arrive, in any split, and hands on whole messages. */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes the pending data must reach before parsing can make progress. */
  private need = 2;
  private fragments: Uint8Array[] = [];
  /** What the message's fragments count towards its limit: their bytes and FRAGMENT_COST each. */
  private fragmentCharge = 0;
  private fragmentOpcode: Opcode | null = null;
  private closed = false;

  constructor(
    private readonly maxMessageBytes: number,
    private readonly sink: FrameSink,
    /** Frames from a client: each must be masked (RFC 6455 §5.1), and is unmasked here. */
    private readonly fromClient = false,
  ) {}

  /** Throws ProtocolViolation; nothing after a Close frame is read. */
  push(chunk: Buffer): void {
    if (this.closed) return;
    let data: Buffer;
    // Whether `data` is the reader's own copy rather than a view of the socket's chunk.
    let owned = false;
    if (this.pendingBytes === 0 && chunk.length >= this.need) data = chunk;
    else {
      owned = true;
      // Kept across callbacks, so copied: the socket may reuse the memory of a chunk.
      this.pending.push(Buffer.from(chunk));
      this.pendingBytes += chunk.length;
      if (this.pendingBytes < this.need) return;
      data = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
    }
    const end = data.length;
    let at = 0;
    while (at < end && !this.closed) {
      const used = this.frameAt(data, at, end - at);
      if (used === 0) break;
      at += used;
    }
    if (at < end && !this.closed) {
      this.pending.push(at === 0 && owned ? data : Buffer.from(data.subarray(at)));
      this.pendingBytes = end - at;
    } else this.need = 2;
  }

  /** Reads the frame at `at`; returns its size, or 0 (with `need` set) when it is not all there. */
  private frameAt(data: Buffer, at: number, available: number): number {
    if (available < 2) {
      this.need = 2;
      return 0;
    }
    const b0 = data[at]!;
    const b1 = data[at + 1]!;
    if (b0 & 0x70) throw new ProtocolViolation(1002, "reserved bits set without a negotiated extension");
    const masked = (b1 & 0x80) !== 0;
    if (masked !== this.fromClient) throw new ProtocolViolation(1002, masked ? "a masked frame from the server" : "an unmasked frame from the client");
    const fin = (b0 & 0x80) !== 0;
    const opcode = b0 & 0x0f;
    const short = b1 & 0x7f;
    const header = (short < 126 ? 2 : short === 126 ? 4 : 10) + (masked ? 4 : 0);
    if (available < header) {
      this.need = header;
      return 0;
    }
    let length = short;
    if (short === 126) length = data.readUInt16BE(at + 2);
    else if (short === 127) {
      const high = data.readUInt32BE(at + 2);
      if (high > 0x1fffff) throw new ProtocolViolation(1009, "message too big");
      length = high * 0x100000000 + data.readUInt32BE(at + 6);
    }
    if (opcode >= 8) {
      if (!fin) throw new ProtocolViolation(1002, "fragmented control frame");
      if (length > 125) throw new ProtocolViolation(1002, "control frame longer than 125 bytes");
    } else if (this.fragmentCharge + (fin && opcode !== Opcode.Continuation ? length : length + FRAGMENT_COST) > this.maxMessageBytes) {
      throw new ProtocolViolation(1009, "message too big");
    }
    if (available < header + length) {
      this.need = header + length;
      return 0;
    }
    const payload = data.subarray(at + header, at + header + length);
    this.dispatch(fin, opcode, masked ? unmask(payload, data, at + header - 4) : payload);
    return header + length;
  }

  private dispatch(fin: boolean, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case Opcode.Text:
      case Opcode.Binary:
        if (this.fragmentOpcode !== null) throw new ProtocolViolation(1002, "a new message inside a fragmented one");
        if (fin) return this.deliver(opcode, payload);
        this.fragmentOpcode = opcode;
        this.keepFragment(payload);
        return;
      case Opcode.Continuation: {
        const first = this.fragmentOpcode;
        if (first === null) throw new ProtocolViolation(1002, "a continuation frame outside a message");
        this.keepFragment(payload);
        if (!fin) return;
        const whole = Buffer.concat(this.fragments);
        this.fragments = [];
        this.fragmentCharge = 0;
        this.fragmentOpcode = null;
        return this.deliver(first, whole);
      }
      case Opcode.Close:
        return this.readClose(payload);
      case Opcode.Ping:
        return this.sink.ping(payload);
      case Opcode.Pong:
        return this.sink.pong(payload);
      default:
        throw new ProtocolViolation(1002, `unknown opcode ${opcode}`);
    }
  }

  private keepFragment(payload: Buffer): void {
    if (payload.length > 0) this.fragments.push(Buffer.from(payload));
    this.fragmentCharge += payload.length + FRAGMENT_COST;
  }

  private deliver(opcode: Opcode, payload: Uint8Array): void {
    if (opcode === Opcode.Text) this.sink.text(decodeText(payload));
    else this.sink.binary(payload);
  }

  private readClose(payload: Buffer): void {
    this.closed = true;
    if (payload.length === 0) return this.sink.close(NO_STATUS, "");
    if (payload.length === 1) throw new ProtocolViolation(1002, "a close frame with a one-byte payload");
    const code = payload.readUInt16BE(0);
    if (!isSendableCloseCode(code)) throw new ProtocolViolation(1002, `invalid close code ${code}`);
    this.sink.close(code, decodeText(payload.subarray(2)));
  }
}
