// Decodes a chunked body (RFC 9112 §7.1) as bytes arrive, in any split. Chunk extensions and
// trailer fields are read and dropped; sizes, line lengths and trailers are bounded.
import { MalformedResponse } from "./response-head.ts";

const MAX_LINE = 4096;
const MAX_TRAILERS = 16 * 1024;
const CHUNK_SIZE = /^[0-9a-fA-F]{1,13}$/;
const LF = 10;
const CR = 13;

const enum State { Size, Data, DataEnd, Trailer, Done }

export class ChunkedDecoder {
  private state = State.Size;
  private remaining = 0;
  private line = "";
  private trailerBytes = 0;
  private dataEndSeen = 0;

  get done(): boolean {
    return this.state === State.Done;
  }

  /**
   * Decodes `input` from `start`, handing each run of body bytes to `emit` as a view into
   * `input`. Returns where decoding stopped: `input.length`, or just past the body's end once
   * `done`. Throws MalformedResponse on anything that is not a chunked body.
   */
  decode(input: Buffer, start: number, emit: (bytes: Buffer) => void): number {
    let i = start;
    const end = input.length;
    while (i < end) {
      switch (this.state) {
        case State.Size:
        case State.Trailer: {
          const lf = input.indexOf(LF, i);
          const stop = lf < 0 ? end : lf;
          this.line += input.toString("latin1", i, stop);
          if (this.line.length > MAX_LINE) throw new MalformedResponse("chunk line too long");
          if (lf < 0) return end;
          i = lf + 1;
          const line = this.line;
          this.line = "";
          if (line.charCodeAt(line.length - 1) !== CR) throw new MalformedResponse("chunk line not ended by CRLF");
          if (this.state === State.Size) this.startChunk(line.slice(0, -1));
          else if (line.length === 1) {
            this.state = State.Done;
            return i;
          } else if ((this.trailerBytes += line.length) > MAX_TRAILERS) throw new MalformedResponse("trailers too large");
          break;
        }
        case State.Data: {
          const take = Math.min(this.remaining, end - i);
          emit(input.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.state = State.DataEnd;
            this.dataEndSeen = 0;
          }
          break;
        }
        case State.DataEnd: {
          const expected = this.dataEndSeen === 0 ? CR : LF;
          if (input[i] !== expected) throw new MalformedResponse("chunk data not followed by CRLF");
          i++;
          if (++this.dataEndSeen === 2) this.state = State.Size;
          break;
        }
        case State.Done:
          return i;
      }
    }
    return i;
  }

  private startChunk(line: string): void {
    const semicolon = line.indexOf(";");
    const size = (semicolon < 0 ? line : line.slice(0, semicolon)).trimEnd();
    if (!CHUNK_SIZE.test(size)) throw new MalformedResponse("invalid chunk size");
    this.remaining = parseInt(size, 16);
    this.state = this.remaining === 0 ? State.Trailer : State.Data;
  }
}
