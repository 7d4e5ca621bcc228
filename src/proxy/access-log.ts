// Access log: one JSON line per request (SPEC §4.5), batched so the request path only pushes
// a string; lines are written on a short timer or when the batch is full. Under `--workers N`
// every line carries the worker's number, and each batch is written whole (README "Workers").
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
  /** A WebSocket session's line, written when it ends (the request's own fields as at the upgrade). */
  websocket?: WebSocketSessionLog;
}

export interface WebSocketSessionLog {
  duration_ms: number;
  messages_from_client: number;
  messages_from_upstream: number;
  /** The code the session ended with (sent by the side that closed first). */
  close_code: number | null;
  closed_by: "client" | "upstream" | "gateway";
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

export interface AccessLogOptions {
  /** The worker of `serve --workers N` writing: every line gets `"worker": N`. */
  worker?: number;
  /** Where `stdout` batches go instead (a worker sends them to its supervisor, the one writer of stdout). */
  stdout?: (text: string) => void;
}

class BatchedLog implements AccessLog {
  readonly enabled = true;
  private batch: string[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** `,"worker":N}` closing each request line of a worker, or "" for a single process. */
  private readonly workerTail: string;

  constructor(
    private readonly sink: (text: string) => void,
    private readonly onClose: () => void = () => {},
    private readonly worker?: number,
  ) {
    this.workerTail = worker === undefined ? "" : `,"worker":${worker}}`;
  }

  private push(line: string): void {
    this.batch.push(line);
    if (this.batch.length >= MAX_BATCH) this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), FLUSH_MS);
      this.timer.unref?.();
    }
  }

  write(entry: AccessLogEntry): void {
    const line = JSON.stringify(entry);
    // Appended to the serialised line rather than spread into the entry: no copy per request.
    this.push(this.workerTail === "" ? line : line.slice(0, -1) + this.workerTail);
  }

  event(fields: Record<string, unknown>): void {
    this.push(JSON.stringify(this.worker === undefined ? { time: new Date().toISOString(), ...fields } : { time: new Date().toISOString(), worker: this.worker, ...fields }));
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
function requestLinesOff(worker?: number): AccessLog {
  return {
    enabled: false,
    write() {},
    event(fields) {
      if (fields.level === "error" || fields.level === "warn") {
        const line = worker === undefined ? { time: new Date().toISOString(), ...fields } : { time: new Date().toISOString(), worker, ...fields };
        process.stderr.write(`${JSON.stringify(line)}\n`);
      }
    },
    flush() {},
    close() {},
  };
}

/**
 * `off`, `stdout`, or a file path (appended to). A file is opened O_APPEND and each batch is one
 * write(2), so workers appending to the same file never interleave their lines.
 */
export function openAccessLog(target: string, options: AccessLogOptions = {}): AccessLog {
  if (target === "off") return requestLinesOff(options.worker);
  if (target === "stdout") return new BatchedLog(options.stdout ?? ((text) => process.stdout.write(text)), undefined, options.worker);
  const fd = openSync(target, "a");
  return new BatchedLog(
    (text) => writeSync(fd, text),
    () => closeSync(fd),
    options.worker,
  );
}
