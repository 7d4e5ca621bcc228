import { expect, test } from "bun:test";
import { parseResponseText, randomResponseHead, seededRandom } from "../../../tests/support/response-heads.ts";
import { type ResponseHead, unrelayable } from "../upstream/response-head.ts";
import { copiedLines, copyUpstreamLines, upstreamLinesBound } from "./direct.ts";

/** The lines as copyUpstreamLines writes them, after 3 bytes already in the buffer, as latin1 text. */
function upstreamLines(head: ResponseHead, overrides: ReadonlyMap<string, string> | null): { text: string; dated: boolean; lengthWritten: boolean } {
  const into = Buffer.alloc(3 + upstreamLinesBound(head));
  const end = copyUpstreamLines(head, overrides, into, 3);
  const { dated, lengthWritten } = copiedLines();
  return { text: into.toString("latin1", 3, end), dated, lengthWritten };
}

/** The lines the client is to get, made from the head's fields one `name: value` at a time (the relay's rules, written plainly). */
function referenceLines(head: ResponseHead, overrides: ReadonlyMap<string, string> | null): { text: string; dated: boolean; lengthWritten: boolean } {
  let text = "";
  let dated = false;
  let lengthWritten = false;
  for (const [name, value] of head.headers) {
    const lower = name.toLowerCase();
    if (overrides?.has(lower) || ["x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"].includes(lower)) continue;
    if (lower === "date") dated = true;
    else if (lower === "content-length") {
      if (lengthWritten || head.status === 204) continue;
      lengthWritten = true;
    }
    text += `${name}: ${value}\r\n`;
  }
  return { text, dated, lengthWritten };
}

const OVERRIDES: (ReadonlyMap<string, string> | null)[] = [
  null,
  null,
  new Map([["date", "Thu, 01 Jan 2026 00:00:00 GMT"]]),
  new Map([["server", "gateway"], ["x-a", "1"]]),
  new Map([["x-\xe9", "1"], ["content-type", "text/plain"]]),
];

test("100,000 generated heads: the lines copied from the head's bytes are, byte for byte, its fields written one by one, within the bound", () => {
  const random = seededRandom(3122026);
  let relayed = 0;
  let withRuns = 0;
  for (let i = 0; i < 100_000; i++) {
    const text = randomResponseHead(random);
    let head: ResponseHead;
    try {
      head = parseResponseText(text, "GET");
    } catch {
      continue;
    }
    if (unrelayable(head) !== null) continue;
    relayed++;
    const overrides = OVERRIDES[i % OVERRIDES.length]!;
    const expected = referenceLines(head, overrides);
    const { text: lines, dated, lengthWritten } = upstreamLines(head, overrides);
    const got = { text: lines, dated, lengthWritten };
    if (!Bun.deepEquals(got, expected)) expect({ head: text, got }).toEqual({ head: text, got: expected });
    if (head.headers.length > 1 && text.includes(expected.text.split("\r\n").slice(0, 2).join("\r\n"))) withRuns++;
  }
  expect(relayed).toBeGreaterThan(20_000);
  // Heads whose first two relayed lines were one slice of the upstream's text were among them.
  expect(withRuns).toBeGreaterThan(1_000);
});

test("nginx's head: every line but Connection goes on as nginx wrote it", () => {
  const head = parseResponseText("HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 12:47:40 GMT\r\nContent-Type: application/json\r\nContent-Length: 29\r\nConnection: keep-alive", "GET");
  const lines = upstreamLines(head, null);
  expect(lines.text).toBe("Server: nginx/1.22.1\r\nDate: Thu, 03 Dec 2026 12:47:40 GMT\r\nContent-Type: application/json\r\nContent-Length: 29\r\n");
  expect(lines.dated).toBe(true);
  expect(lines.lengthWritten).toBe(true);
});

test("an upstream's X-Request-Id and the gateway's latency headers never go on; odd spacing is rewritten as name: value", () => {
  const head = parseResponseText("HTTP/1.1 204 No Content\r\nX-Request-ID: forged\r\nX-A:\tone \r\nx-gateway-proxy-latency: 0\r\nContent-Length: 0\r\nX-B:two", "GET");
  expect(upstreamLines(head, null).text).toBe("X-A: one\r\nX-B: two\r\n");
});
