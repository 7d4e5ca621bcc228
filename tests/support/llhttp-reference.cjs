// The differential proof's reference: Node's own llhttp (process.binding('http_parser'), strict
// mode, no lenient flags) parsing request streams. Long-lived: reads frames from stdin (u32 LE
// length, then the stream's bytes) until EOF and writes one JSON line per frame, in order:
//   {"m":[[method,url,major,minor,rawHeaders,bodyBase64,keepAlive,upgrade,trailerRawHeaders],...],
//    "e":errorCode|null,"r":reason|null,"at":bytesParsedBeforeError|null,"n":bytesConsumed,"inc":midMessageAtEnd}
"use strict";

process.noDeprecation = true;
const { HTTPParser, allMethods } = process.binding("http_parser");

const kOnHeaders = HTTPParser.kOnHeaders | 0;
const kOnHeadersComplete = HTTPParser.kOnHeadersComplete | 0;
const kOnBody = HTTPParser.kOnBody | 0;
const kOnMessageComplete = HTTPParser.kOnMessageComplete | 0;
const MAX_HEADER_SIZE = 0x7fffffff; // our own limits are tested apart; here only syntax is compared

let messages = [];
let pendingHeaders = [];
let pendingUrl = "";
let current = null;
let bodyParts = [];

const parser = new HTTPParser();
// Node flushes header pairs in batches of 32 before headers complete, and a chunked body's
// trailer fields just before message complete.
parser[kOnHeaders] = (headers, url) => {
  if (current !== null) {
    for (let i = 0; i < headers.length; i++) current[8].push(headers[i]);
    return;
  }
  for (let i = 0; i < headers.length; i++) pendingHeaders.push(headers[i]);
  pendingUrl += url;
};
parser[kOnHeadersComplete] = (versionMajor, versionMinor, headers, method, url, _statusCode, _statusMessage, upgrade, shouldKeepAlive) => {
  if (headers === undefined) headers = pendingHeaders;
  if (url === undefined) url = pendingUrl;
  pendingHeaders = [];
  pendingUrl = "";
  current = [allMethods[method], url, versionMajor, versionMinor, headers, "", !!shouldKeepAlive, !!upgrade, []];
  bodyParts = [];
  return 0;
};
parser[kOnBody] = (chunk, start, length) => {
  bodyParts.push(Buffer.from(start === undefined ? chunk : chunk.subarray(start, start + length)));
};
parser[kOnMessageComplete] = () => {
  current[5] = Buffer.concat(bodyParts).toString("base64");
  messages.push(current);
  current = null;
  bodyParts = [];
};

function parseStream(bytes) {
  messages = [];
  pendingHeaders = [];
  pendingUrl = "";
  current = null;
  parser.initialize(HTTPParser.REQUEST, {}, MAX_HEADER_SIZE, HTTPParser.kLenientNone);
  const result = parser.execute(bytes);
  const out = { m: messages, e: null, r: null, at: null, n: bytes.length, inc: false };
  if (result instanceof Error) {
    out.e = result.code;
    out.r = result.reason;
    out.at = result.bytesParsed;
  } else if (current !== null && result < bytes.length) {
    // Node's binding reports no error once a head asked for an upgrade: llhttp stopped
    // inside that message's body, which only an error does (an upgrade pauses after it).
    out.e = "HPE_HIDDEN_BY_NODE_UPGRADE";
    out.r = "error in the body of an upgrade request";
    out.at = result;
  } else {
    out.n = result;
    // Node's finish() hides llhttp's EOF error once a head asked for an upgrade, so a body
    // still being read counts as mid-message by itself.
    const upgraded = current === null && messages.length > 0 && messages[messages.length - 1][7];
    if (!upgraded) out.inc = current !== null || parser.finish() instanceof Error;
  }
  return JSON.stringify(out);
}

let buffered = Buffer.alloc(0);
const output = [];
process.stdin.on("data", (chunk) => {
  buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
  let offset = 0;
  while (buffered.length - offset >= 4) {
    const length = buffered.readUInt32LE(offset);
    if (buffered.length - offset - 4 < length) break;
    output.push(parseStream(buffered.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  buffered = buffered.subarray(offset);
  if (output.length > 0) {
    process.stdout.write(output.join("\n") + "\n");
    output.length = 0;
  }
});
