// Headers that end at one hop (RFC 9110 §7.6.1), in requests and responses alike, plus the
// framing header each side writes itself. The one list the proxy's request cleaning, response
// head parsing and fetch path use.
export const HOP_BY_HOP: ReadonlySet<string> = new Set([
  "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
]);
