// What a jwt cache hit costs in JavaScript on the raw engine, in one process without sockets:
// the parsed request, the client-header cleaning, the plugin context, the chain's access phase
// (jwt, ES256, cache on, 1,000 tokens already verified) and the upstream head written from the
// pairs the plugins left, against the head of the same request on a route without plugins. The
// minimum of several rounds is taken (other work on the host only ever adds time). The server
// pays 2-3× these figures (bench/RESULTS.md, "plugins on the parsed head").
//   taskset -c 1 bun bench/cache-hit-work.ts
import { SignJWT, exportSPKI, generateKeyPair } from "jose";
import { builtinPlugins } from "../plugins/index.ts";
import { parseDeclarative } from "../src/config/declarative.ts";
import { PluginRequestContext } from "../src/pipeline/request-context.ts";
import { runAccess } from "../src/pipeline/run-chain.ts";
import { canonicalHost } from "../src/proxy/canonical-host.ts";
import { removeClientOnlyHeaders } from "../src/proxy/client-headers.ts";
import { type ForwardInfo, RequestHead } from "../src/proxy/forward.ts";
import { RawRequest, type RequestConnection } from "../src/proxy/raw/incoming.ts";
import { buildSnapshot } from "../src/state/snapshot.ts";

const { privateKey, publicKey } = await generateKeyPair("ES256");
const pem = (await exportSPKI(publicKey)).trim().split("\n").map((line) => `          ${line}`).join("\n");
const config = `_format_version: "3.0"
services:
  - { name: upstream, url: "http://127.0.0.1:9001", routes: [{ name: all, paths: [/], plugins: [{ name: jwt, config: { claims_to_verify: [exp], cache_size: 10000 } }] }] }
consumers:
  - username: bench
    jwt_secrets:
      - key: bench-key
        algorithm: ES256
        rsa_public_key: |
${pem}
`;
const snapshot = buildSnapshot(parseDeclarative(config, builtinPlugins), builtinPlugins, 1);
const tokens: string[] = [];
for (let i = 0; i < 1000; i++) tokens.push(await new SignJWT({ sub: `user-${i}` }).setProtectedHeader({ alg: "ES256", typ: "JWT" }).setIssuer("bench-key").setExpirationTime("1y").sign(privateKey));

const connection = {} as RequestConnection;
const parsed = (i: number) => new RawRequest("GET", "/bench", ["host", "127.0.0.1:9631", "authorization", `Bearer ${tokens[i % tokens.length]}`], "http://127.0.0.1:9631", null, connection);
const match = snapshot.router.match("GET", canonicalHost("127.0.0.1:9631")!, "/bench", parsed(0).headers)!;
const chain = match.target.chain;
const forwarding = { pool: null, clientIp: "127.0.0.1", peerIp: "127.0.0.1", requestId: "id", listenerPort: 9631, scheme: "http", query: null, method: "GET", body: null, consumerId: null, path: "/bench" };
const afterPlugins = { ...forwarding, clientHeadersRemoved: true } as unknown as ForwardInfo;
const withoutPlugins = { ...forwarding, clientHeadersRemoved: false } as unknown as ForwardInfo;
const events = { event() {} };
const HEAD = Buffer.allocUnsafe(64 * 1024);

/** The flow of src/proxy/request-flow.ts for a route with plugins, up to the upstream head. */
function pluginsRan(request: RawRequest): void {
  removeClientOnlyHeaders(request.headers, chain.ownedHeaders);
  const ctx = new PluginRequestContext(request, "id", "127.0.0.1", snapshot, match.target.route.id, chain.authFallback, events);
  ctx.identityHeadersCleared = true;
  if (runAccess(chain, ctx) instanceof Promise) throw new Error("a cache hit answers synchronously");
}

for (let i = 0; i < tokens.length; i++) {
  const request = parsed(i);
  removeClientOnlyHeaders(request.headers, chain.ownedHeaders);
  const ctx = new PluginRequestContext(request, "id", "127.0.0.1", snapshot, match.target.route.id, chain.authFallback, events);
  await runAccess(chain, ctx);
}

const REQUESTS = 300_000;
function nanosecondsPerRequest(run: (i: number) => void): number {
  let best = Infinity;
  for (let round = 0; round < 9; round++) {
    const started = Bun.nanoseconds();
    for (let i = 0; i < REQUESTS; i++) run(i);
    best = Math.min(best, (Bun.nanoseconds() - started) / REQUESTS);
  }
  return best;
}

const hit = nanosecondsPerRequest((i) => {
  const request = parsed(i);
  pluginsRan(request);
  new RequestHead("GET", request.headers.pairs, request.headers, match, "/bench", afterPlugins, "127.0.0.1:9001").writeHead(HEAD);
});
const none = nanosecondsPerRequest((i) => {
  const request = parsed(i);
  new RequestHead("GET", request.headers.pairs, request.headers, match, "/bench", withoutPlugins, "127.0.0.1:9001").writeHead(HEAD);
});
console.log(`cache hit ${hit.toFixed(0)} ns, no plugins ${none.toFixed(0)} ns, the hit's extra ${(hit - none).toFixed(0)} ns per request`);
