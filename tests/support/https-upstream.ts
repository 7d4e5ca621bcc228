// HTTPS upstreams served by Node's own `https` module in one `node` process: one server per
// certificate given, each answering JSON with the path and the CN of the client certificate
// it was shown. A server given `clientCa` requires a client certificate signed by it
// (`requestCert`, `rejectUnauthorized`), as an mTLS upstream does.
import { spawn } from "bun";

export interface HttpsServerSpec {
  cert: string;
  key: string;
  clientCa?: string;
}

export interface HttpsUpstreams {
  /** The port of each server, by the name it was given. */
  ports: Record<string, number>;
  /** Secure connections each server accepted so far, by name. */
  connections(): Promise<Record<string, number>>;
  stop(): Promise<void>;
}

const SCRIPT = `
const https = require("node:https");
const http = require("node:http");
const specs = JSON.parse(process.env.HTTPS_SPECS);
const ports = {};
const connections = {};
let pending = Object.keys(specs).length + 1;
const ready = () => { if (--pending === 0) process.stdout.write("PORTS " + JSON.stringify(ports) + "\\n"); };
for (const [name, spec] of Object.entries(specs)) {
  const options = { cert: spec.cert, key: spec.key };
  if (spec.clientCa) Object.assign(options, { ca: spec.clientCa, requestCert: true, rejectUnauthorized: true });
  connections[name] = 0;
  const server = https.createServer(options, (req, res) => {
    req.resume();
    req.on("end", () => {
      const peer = req.socket.getPeerCertificate();
      const body = JSON.stringify({ server: name, path: req.url, client: peer && peer.subject ? peer.subject.CN : null });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.on("secureConnection", () => connections[name]++);
  server.listen(0, "127.0.0.1", () => { ports[name] = server.address().port; ready(); });
}
// Plain HTTP on loopback: how many TLS connections each server accepted.
const control = http.createServer((req, res) => res.end(JSON.stringify(connections)));
control.listen(0, "127.0.0.1", () => { ports._control = control.address().port; ready(); });
process.on("SIGTERM", () => process.exit(0));
`;

export async function startHttpsUpstreams(specs: Record<string, HttpsServerSpec>): Promise<HttpsUpstreams> {
  const child = spawn(["node", "-e", SCRIPT], { env: { ...process.env, HTTPS_SPECS: JSON.stringify(specs) }, stdout: "pipe", stderr: "inherit" });
  const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
  let text = "";
  while (!/PORTS .*\n/.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`https upstreams did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const { _control: control, ...ports } = JSON.parse(/PORTS (.*)\n/.exec(text)![1]!) as Record<string, number>;
  return {
    ports,
    connections: async () => (await fetch(`http://127.0.0.1:${control}/`)).json() as Promise<Record<string, number>>,
    async stop() {
      child.kill();
      await child.exited;
    },
  };
}
