// What the raw engine refuses beyond HTTP/1.1 parsing. The parser accepts what llhttp accepts;
// a few of those forms Bun.serve refused, and a proxy must not pass on what its upstream could
// read another way (request smuggling): a folded or CR-bearing value, a Transfer-Encoding
// other than one `chunked`, a Content-Length beside a Transfer-Encoding. (Several Host fields
// are read joined, which the flow's canonical Host refuses, as on the serve engine.) The
// gateway is no forward proxy: CONNECT, whose Content-Length llhttp ignores, would let a front
// proxy and the gateway disagree on where the request ends.
import { messageOf } from "../../errors.ts";
import type { RequestHead } from "./request-parser.ts";

const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/;

/** Why the head cannot be served (answered 400, the connection closed), or null. */
export function headRefusal(head: RequestHead): string | null {
  if (head.method === "CONNECT") return messageOf("connect_not_served");
  if (head.minorVersion === 1 && head.host === null) return "missing Host header (RFC 9112 §3.2)";
  if (head.minorVersion === 0 && head.upgrade !== null) return "Upgrade in an HTTP/1.0 request";
  const pairs = head.headers;
  let transferEncodings = 0;
  let hasLength = false;
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i]!;
    const value = pairs[i + 1]!;
    if (CONTROL.test(value)) return `header ${name}: control characters (folded lines, bare CR) are refused`;
    if (name === "transfer-encoding") {
      transferEncodings++;
      if (value.toLowerCase() !== "chunked") return "Transfer-Encoding: only one chunked coding is accepted";
    } else if (name === "content-length") hasLength = true;
  }
  if (transferEncodings > 1) return "Transfer-Encoding: only one chunked coding is accepted";
  if (transferEncodings === 1 && hasLength) return "Content-Length and Transfer-Encoding together are refused";
  if (head.minorVersion === 0 && transferEncodings === 1) return "Transfer-Encoding in an HTTP/1.0 request";
  return null;
}
