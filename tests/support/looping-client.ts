// One keep-alive client connection sending GET in a loop on a raw socket, as a load generator
// (no pause) or an interactive client (a pause between requests) does: it counts the answers,
// those that told it to close, and the requests written on the open connection that never got
// an answer (lost). A close it has seen before writing is honoured: it writes nothing after.
import { type Socket, createConnection } from "node:net";

export class LoopingClient {
  answered = 0;
  closingAnswers = 0;
  lost = 0;
  private readonly socket: Socket;
  private buffer = "";
  private waiting = false;
  private ended = false;

  constructor(
    port: number,
    private readonly path = "/",
    private readonly pauseMs = 0,
  ) {
    this.socket = createConnection({ host: "127.0.0.1", port }, () => this.send());
    this.socket.setEncoding("latin1");
    this.socket.on("data", (chunk: string) => this.received(chunk));
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      this.ended = true;
      if (this.waiting) this.lost++;
      this.waiting = false;
    });
  }

  stop(): void {
    this.ended = true;
    this.socket.destroy();
  }

  private send(): void {
    if (this.ended) return;
    this.waiting = true;
    this.socket.write(`GET ${this.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  }

  private received(chunk: string): void {
    this.buffer += chunk;
    const headEnd = this.buffer.indexOf("\r\n\r\n");
    if (headEnd < 0) return;
    const head = this.buffer.slice(0, headEnd);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (this.buffer.length < headEnd + 4 + length) return;
    this.buffer = this.buffer.slice(headEnd + 4 + length);
    this.waiting = false;
    this.answered++;
    if (/\r\nconnection: close/i.test(head)) {
      this.closingAnswers++;
      this.ended = true;
    } else if (this.pauseMs === 0) this.send();
    else setTimeout(() => this.send(), this.pauseMs);
  }
}
