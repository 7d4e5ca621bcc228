// A plain Node `http` server as an upstream, in its own `node` process: it reads headers the way
// CGI, WSGI, Rack and PHP do (`X_Consumer_ID` and `X-Consumer-ID` are both HTTP_X_CONSUMER_ID,
// the last one wins) and trusts HTTP_X_CONSUMER_ID, as an application behind a gateway does.
// It answers with what it received, the body's bytes included.
import { spawn } from "bun";

export interface NodeEcho {
  method: string;
  /** The request target exactly as Node received it (Node does not normalise it). */
  url: string;
  /** Header lines in the order they arrived, names as sent. */
  rawHeaders: [string, string][];
  /** CGI-style variables: HTTP_<NAME upper-cased, '-' as '_'>. */
  cgi: Record<string, string>;
  /** Whether the CGI view of X-Consumer-ID named the trusted consumer. */
  trusted: boolean;
  /** The body's bytes as received (base64), after Node removed any chunked framing. */
  body: string;
}

export interface NodeUpstream {
  port: number;
  url: string;
  stop(): Promise<void>;
}

const SCRIPT = `
const http = require("node:http");
const trusted = process.env.TRUSTED_CONSUMER_ID;
const server = http.createServer((req, res) => {
  const rawHeaders = [];
  const cgi = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const [name, value] = [req.rawHeaders[i], req.rawHeaders[i + 1]];
    rawHeaders.push([name, value]);
    cgi["HTTP_" + name.toUpperCase().replace(/-/g, "_")] = value;
  }
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", () => {
    const received = Buffer.concat(chunks).toString("base64");
    const body = JSON.stringify({ method: req.method, url: req.url, rawHeaders, cgi, trusted: cgi.HTTP_X_CONSUMER_ID === trusted, body: received });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(0, "127.0.0.1", () => process.stdout.write("PORT " + server.address().port + "\\n"));
process.on("SIGTERM", () => process.exit(0));
`;

/** Starts the Node upstream; `trustedConsumerId` is the consumer whose requests it serves its secrets to. */
export async function startNodeUpstream(trustedConsumerId: string): Promise<NodeUpstream> {
  const child = spawn(["node", "-e", SCRIPT], { env: { ...process.env, TRUSTED_CONSUMER_ID: trustedConsumerId }, stdout: "pipe", stderr: "inherit" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!/PORT \d+\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`node upstream did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(/PORT (\d+)/.exec(text)![1]);
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.exited;
    },
  };
}
