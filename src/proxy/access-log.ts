// Access log: one JSON line per request (SPEC §4.5), batched so the request path only pushes
// a string; lines are written on a short timer or when the batch is full.
import { closeSync, openSync, writeSync } from "node:fs";

export interface AccessLogEntry {
  time: string;
  request_id: string;
  method: string;
  path: string;
  status: number;
  route: string | null;
  service: string | null;
  consumer: string | null;
  client_ip: string;
  upstream_latency_ms: number | null;
  proxy_latency_ms: number;
  total_latency_ms: number;
  error?: string;
}

export interface AccessLog {
  /** False when logging is off, so the request path can skip building entries. */
  readonly enabled: boolean;
  write(entry: AccessLogEntry): void;
  /** Also for the gateway's own events (start, errors): same stream, same JSON-lines shape. */
  event(fields: Record<string, unknown>): void;
  flush(): void;
  close(): void;
}

const FLUSH_MS = 100;
const MAX_BATCH = 512;

class BatchedLog implements AccessLog {
  readonly enabled = true;
  private batch: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly sink: (text: string) => void,
    private readonly onClose: () => void = () => {},
  ) {}

  private push(line: string): void {
    this.batch.push(line);
    if (this.batch.length >= MAX_BATCH) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref?.();
    }
  }

  write(entry: AccessLogEntry): void {
    this.push(JSON.stringify(entry));
  }

  event(fields: Record<string, unknown>): void {
    this.push(JSON.stringify({ time: new Date().toISOString(), ...fields }));
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.batch.length === 0) return;
    const text = `${this.batch.join("\n")}\n`;
    this.batch = [];
    this.sink(text);
  }

  close(): void {
    this.flush();
    this.onClose();
  }
}

/** `off` drops request lines, but errors and warnings still reach stderr. */
const requestLinesOff: AccessLog = {
  enabled: false,
  write() {},
  event(fields) {
    if (fields.level === "error" || fields.level === "warn") {
      process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...fields })}\n`);
    }
  },
  flush() {},
  close() {},
};

/** `off`, `stdout`, or a file path (appended to). */
export function openAccessLog(target: string): AccessLog {
  if (target === "off") return requestLinesOff;
  if (target === "stdout") return new BatchedLog((text) => process.stdout.write(text));
  const fd = openSync(target, "a");
  return new BatchedLog(
    (text) => writeSync(fd, text),
    () => closeSync(fd),
  );
}
