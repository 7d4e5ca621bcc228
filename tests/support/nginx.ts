// Stock nginx for tests: a throwaway prefix directory, a minimal nginx.conf around the server
// block a test gives, one process on a free loopback port; plus a raw HTTP/1.1 client, because
// fetch normalises request targets and these tests need them byte-exact.
import { describe, test } from "bun:test";
import { spawn, type Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface NginxOptions {
  /** Directives at `http { }` level, before the server block. */
  http?: string;
  /** Run a master and one worker (default: a single process, so `stop` kills all of nginx). */
  masterProcess?: boolean;
  /** How long to wait for the port to accept connections (default 5000 ms). */
  startTimeoutMs?: number;
}

export interface RunningNginx {
  port: number;
  url: string;
  /** The prefix directory (nginx.conf, error.log, temp paths). Removed by `stop`. */
  dir: string;
  /** Kills the one nginx process this call started and removes its directory. */
  stop(): Promise<void>;
}

const NGINX_BINARY = existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : Bun.which("nginx");
const INSTALL_HINT = "install with `apt-get install nginx`";
// A port found free can be taken before nginx binds it; a few tries make that race harmless.
const BIND_ATTEMPTS = 3;

export function nginxAvailable(): boolean {
  return NGINX_BINARY !== null;
}

/**
 * `describe` for tests that need nginx. Without nginx: skipped with a loud warning locally,
 * but a failing test under CI, which installs nginx, so its absence there is a defect.
 */
export function describeWithNginx(name: string, fn: () => void): void {
  if (nginxAvailable()) return describe(name, fn);
  if (process.env.CI) {
    return describe(name, () => {
      test("nginx is installed", () => {
        throw new Error(`nginx not installed but CI is set: ${name} cannot run; ${INSTALL_HINT}`);
      });
    });
  }
  console.warn(`\n*** nginx not installed: SKIPPING "${name}"; ${INSTALL_HINT} ***\n`);
  describe.skip(name, fn);
}

/** Starts nginx with `serverBlock` as the directives of its one `server { }` (after `listen`). */
export async function startNginx(serverBlock: string | ((port: number) => string), opts: NginxOptions = {}): Promise<RunningNginx> {
  if (!NGINX_BINARY) throw new Error(`nginx not installed; ${INSTALL_HINT}`);
  let lastError: unknown;
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort();
    const body = typeof serverBlock === "function" ? serverBlock(port) : serverBlock;
    try {
      return await startOnPort(NGINX_BINARY, port, body, opts);
    } catch (error) {
      lastError = error;
      if (!String(error).includes("Address already in use")) break;
    }
  }
  throw lastError;
}

async function startOnPort(binary: string, port: number, serverBlock: string, opts: NginxOptions): Promise<RunningNginx> {
  const dir = mkdtempSync(join(tmpdir(), "gateway-nginx-"));
  const errorLog = join(dir, "error.log");
  writeFileSync(join(dir, "nginx.conf"), nginxConf(dir, port, serverBlock, opts));
  // `-e` points the error log at the directory before nginx reads its configuration; otherwise it
  // first tries /var/log/nginx/error.log. `daemon off` is given on the command line only:
  // nginx refuses a directive that appears in both places.
  const proc = spawn([binary, "-p", dir, "-e", errorLog, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const stop = async () => {
    await kill(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, proc, opts.startTimeoutMs ?? 5000);
  } catch (error) {
    await kill(proc);
    const log = existsSync(errorLog) ? readFileSync(errorLog, "utf8") : "";
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`nginx did not start on 127.0.0.1:${port}: ${(error as Error).message}\n${log}`);
  }
  return { port, url: `http://127.0.0.1:${port}`, dir, stop };
}

function nginxConf(dir: string, port: number, serverBlock: string, opts: NginxOptions): string {
  const temp = (name: string) => `${name}_temp_path ${join(dir, `${name}_temp`)};`;
  return `master_process ${opts.masterProcess ? "on" : "off"};
worker_processes 1;
pid ${join(dir, "nginx.pid")};
error_log ${join(dir, "error.log")} info;
events {}
http {
  access_log ${join(dir, "access.log")};
  ${["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map(temp).join("\n  ")}
  ${opts.http ?? ""}
  server {
    listen 127.0.0.1:${port};
    ${serverBlock}
  }
}
`;
}

async function kill(proc: Subprocess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  // SIGTERM lets a master process stop its worker; SIGKILL only if it does not exit in time.
  proc.kill("SIGTERM");
  const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(2000).then(() => false)]);
  if (!exited) {
    proc.kill("SIGKILL");
    await proc.exited;
  }
}

async function waitForPort(port: number, proc: Subprocess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) {
      const stderr = proc.stderr instanceof ReadableStream ? await new Response(proc.stderr).text() : "";
      throw new Error(`nginx exited with ${proc.exitCode}: ${stderr.trim()}`);
    }
    if (await accepts(port)) return;
    await Bun.sleep(20);
  }
  throw new Error(`port not accepting connections after ${timeoutMs} ms`);
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** A loopback port nothing listens on right now (bound with port 0, then released). */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Sends `bytes` (a string is sent as UTF-8) to 127.0.0.1:`port` as they are and returns all
 * that comes back until the server closes the connection or `timeoutMs` passes. Ask for
 * `Connection: close` in the request, or the read ends only at the timeout. The answer is
 * decoded as `encoding`; "latin1" keeps one character per byte, for byte-exact comparisons.
 */
export function rawRequest(port: number, bytes: string | Uint8Array, timeoutMs = 2000, encoding: BufferEncoding = "utf8"): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(Buffer.concat(chunks).toString(encoding));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on("connect", () => socket.write(bytes));
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", done);
    socket.on("close", done);
    socket.on("error", (error) => {
      clearTimeout(timer);
      // A reset after the answer arrived still carries the answer.
      if (chunks.length > 0) resolve(Buffer.concat(chunks).toString(encoding));
      else reject(error);
    });
  });
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** Everything after the head, as sent (a chunked body is not decoded). */
  body: string;
}

/** Splits a raw HTTP/1.x response into status, headers (names lower-cased) and body; null if none came. */
export function parseRawResponse(raw: string): RawResponse | null {
  const headEnd = raw.indexOf("\r\n\r\n");
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw);
  if (headEnd < 0 || !status) return null;
  const headers: Record<string, string> = {};
  for (const line of raw.slice(0, headEnd).split("\r\n").slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(status[1]), headers, body: raw.slice(headEnd + 4) };
}
