// A WebSocket client for tests (Bun's own), with its messages and events queued so a test can
// await them in order; and a handshake sent with fetch, for answers that refuse the upgrade.

export class TestWebSocket {
  private readonly messages: (string | Buffer)[] = [];
  private readonly waiting: ((message: string | Buffer) => void)[] = [];
  readonly pings: string[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly socket: WebSocket) {
    socket.binaryType = "nodebuffer";
    socket.addEventListener("message", (event) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter(event.data);
      else this.messages.push(event.data);
    });
    socket.addEventListener("ping" as never, (event: MessageEvent) => this.pings.push(String(event.data)));
    this.closed = new Promise((resolve) => socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  }

  /** Opens `url`; rejects with the error's message when the handshake fails. */
  static open(url: string, options: { headers?: Record<string, string>; protocols?: string[]; ca?: string } = {}): Promise<TestWebSocket> {
    const socket = new WebSocket(url, { headers: options.headers, protocols: options.protocols, tls: options.ca ? { ca: options.ca } : undefined } as never);
    const client = new TestWebSocket(socket);
    return new Promise((resolve, reject) => {
      socket.addEventListener("open", () => resolve(client));
      socket.addEventListener("error", (event) => reject(new Error((event as ErrorEvent).message)));
    });
  }

  next(): Promise<string | Buffer> {
    const queued = this.messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async nextText(): Promise<string> {
    const message = await this.next();
    if (typeof message !== "string") throw new Error(`expected text, got ${message.length} bytes`);
    return message;
  }

  send(message: string | Uint8Array): void {
    this.socket.send(message);
  }

  close(code?: number, reason?: string): Promise<{ code: number; reason: string }> {
    this.socket.close(code, reason);
    return this.closed;
  }
}

/** An upgrade request through fetch, for the answers that refuse it (a 101 is not read here). */
export function upgradeRequest(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    headers: { upgrade: "websocket", connection: "Upgrade", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==", "sec-websocket-version": "13", ...headers },
  });
}

/** The head of the gateway's answer to a handshake sent over a raw socket (the 101 included). */
export async function rawUpgradeHead(port: number, path: string): Promise<string> {
  let text = "";
  let done!: (head: string) => void;
  const head = new Promise<string>((resolve) => (done = resolve));
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: {
      data(_socket, bytes) {
        text += bytes.toString("latin1");
        const end = text.indexOf("\r\n\r\n");
        if (end >= 0) done(text.slice(0, end));
      },
    },
  });
  socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  const answer = await head;
  socket.terminate();
  return answer;
}
