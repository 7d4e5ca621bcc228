// Compares what two engines did with the same case: the byte streams with only what differs
// from run to run normalised, and a line diff of the rest that shows every byte (CR, LF and
// controls escaped).
import { type MessageEnd, requestEnd, responseEnd } from "./engine-framing.ts";

/**
 * The only fields that may differ between two runs of the same bytes: the time of the
 * response, the request id the gateway makes up when the client sent none (the upstream sees
 * it too), and the two latency headers.
 */
export const VOLATILE_FIELDS = ["date", "x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"] as const;

const VOLATILE_LINE = new RegExp(`(^|\\r\\n)(${VOLATILE_FIELDS.join("|")}):[ \\t]*[^\\r\\n]*`, "gi");

/** The stream with each volatile field's value replaced by `<name>`, its name left as sent. */
export function normalise(stream: string): string {
  return stream.replace(VOLATILE_LINE, (_, before: string, name: string) => `${before}${name}: <${name.toLowerCase()}>`);
}

/**
 * A message head as compared: the start line as sent; field names lower-cased, fields of one
 * name combined into one line (RFC 9110 §5.3: `, `; Cookie with `; `, as RFC 9113 §8.2.3 joins
 * it; Set-Cookie never combined), and the fields ordered by name. Field names are
 * case-insensitive (§5.1) and only the order within one name carries meaning (§5.3): Bun.serve
 * writes names in the case they were set, or its own for well-known ones, in an order of its
 * own, and Bun's fetch joins repeated request fields, none of which a JavaScript API exposes,
 * so the raw engine cannot copy those bytes. Everything else in a head is compared as sent.
 * `unframed`: Content-Length and Transfer-Encoding left out (the body is compared decoded).
 */
export function canonicalHead(head: string, unframed = false): string {
  const lines = head.split("\r\n");
  const start = lines.shift()!;
  const byName = new Map<string, string[]>();
  for (const line of lines) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : line;
    if (unframed && (name === "content-length" || name === "transfer-encoding")) continue;
    const value = colon > 0 ? line.slice(colon + 1).replace(/^[ \t]+/, "") : "";
    const values = byName.get(name);
    if (values) values.push(value);
    else byName.set(name, [value]);
  }
  const fields: string[] = [];
  for (const name of [...byName.keys()].sort()) {
    const values = byName.get(name)!;
    if (name === "set-cookie") for (const value of values) fields.push(`${name}: ${value}`);
    else fields.push(`${name}: ${values.join(name === "cookie" ? "; " : ", ")}`);
  }
  return `${[start, ...fields].join("\r\n")}\r\n\r\n`;
}

/**
 * One connection's stream as compared: each message head canonical (canonicalHead) with the volatile fields normalised,
 * and each chunked body in one chunk, because where chunk boundaries fall depends on how the
 * bytes arrived (the serve engine re-chunks a 1 MiB body as it reads it, differently from run
 * to run), not on what either engine decided. Bodies are otherwise left as sent, and so is a
 * body that is not valid chunked framing. Bytes past the last complete message (a cut
 * answer) have their volatile-looking lines normalised.
 * `methods`: the requests' methods for a stream of responses (HEAD answers have no body), or
 * "requests" for a stream of requests.
 */
export function canonicalStream(stream: string, methods: readonly string[] | "requests", unframed = false): string {
  let out = "";
  let at = 0;
  let answered = 0;
  while (at < stream.length) {
    let end: MessageEnd;
    try {
      end = methods === "requests" ? requestEnd(stream, at) : responseEnd(stream, at, methods[answered] ?? "GET");
    } catch {
      break;
    }
    if (end.kind !== "complete") break;
    const { head } = end;
    const status = Number(head.startLine.split(" ")[1]);
    if (methods !== "requests" && !(status >= 100 && status < 200 && status !== 101)) answered++;
    const codings = head.headers.get("transfer-encoding")?.join(",").toLowerCase() ?? "";
    const body = stream.slice(head.bodyStart, end.end);
    const chunked = codings.endsWith("chunked");
    out += normalise(canonicalHead(stream.slice(at, head.bodyStart - 4), unframed)) + (chunked ? (unframed ? chunkData(body) : oneChunk(body)) : body);
    at = end.end;
  }
  return out + normalise(stream.slice(at));
}

/** A valid chunked body's data and what follows its last chunk (trailers), or null when a size line has extensions. */
function chunksOf(body: string): { data: string; trailers: string } | null {
  let data = "";
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", at);
    const sizeLine = body.slice(at, lineEnd);
    if (sizeLine.includes(";")) return null;
    const size = Number.parseInt(sizeLine, 16);
    if (size === 0) break;
    data += body.slice(lineEnd + 2, lineEnd + 2 + size);
    at = lineEnd + 2 + size + 2;
  }
  return { data, trailers: body.slice(body.indexOf("\r\n", at) + 2) };
}

/** A valid chunked body (chunks, last chunk, trailers) as one chunk, the last chunk and the same trailers. */
function oneChunk(body: string): string {
  const chunks = chunksOf(body);
  // Extensions are bytes an engine chose to pass or drop: such a body is compared as sent.
  if (chunks === null) return body;
  const { data, trailers } = chunks;
  return `${data.length === 0 ? "" : `${data.length.toString(16)}\r\n${data}\r\n`}0\r\n${trailers}`;
}

/** A chunked body's data alone, for a stream compared without its framing. */
function chunkData(body: string): string {
  return chunksOf(body)?.data ?? body;
}

const MAX_LINE = 160;

/** One line as printable text: CR and controls escaped, a long line cut with its length given. */
function printable(line: string): string {
  const escaped = line.replace(/[\x00-\x1f\x7f-\xff]/g, (c) => (c === "\r" ? "\\r" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));
  return escaped.length > MAX_LINE ? `${escaped.slice(0, MAX_LINE)}… (${line.length} bytes)` : escaped;
}

/** Lines ending at each LF, so a missing CR or a missing final newline is a difference too. */
function lines(stream: string): string[] {
  return stream.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/**
 * A diff of two streams by lines (longest common subsequence): `-` lines only in `left`, `+`
 * only in `right`, a few equal lines around each change. Empty when they are equal.
 */
export function diffStreams(left: string, right: string, labels: [string, string], context = 2): string {
  if (left === right) return "";
  const a = lines(left);
  const b = lines(right);
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  }
  const ops: { sign: " " | "-" | "+"; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ sign: " ", line: a[i++]! });
      j++;
    } else if (i < a.length && (j === b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) ops.push({ sign: "-", line: a[i++]! });
    else ops.push({ sign: "+", line: b[j++]! });
  }
  const shown = new Set<number>();
  ops.forEach((op, index) => {
    if (op.sign === " ") return;
    for (let k = Math.max(0, index - context); k <= Math.min(ops.length - 1, index + context); k++) shown.add(k);
  });
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  let previous = -1;
  for (const index of [...shown].sort((x, y) => x - y)) {
    if (previous >= 0 && index > previous + 1) out.push("  …");
    out.push(`${ops[index]!.sign} ${printable(ops[index]!.line.replace(/\n$/, ""))}${ops[index]!.line.endsWith("\n") ? "" : " (no newline)"}`);
    previous = index;
  }
  return out.join("\n");
}
