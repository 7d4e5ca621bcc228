// What the plugins of bench/jwt-rate-limiting-cors.yml cost in JavaScript and Headers calls per
// request, beyond jwt alone, in one process and without sockets: the chain's access phase, the
// access-phase headers set on an upstream-like Response, and the response phase. Bun's writing of
// the extra headers is not in it (bench/response-headers-cost.ts measures that). A stand-in
// authenticates for jwt (its work is the same on both sides); the minimum of many rounds is taken,
// since other work on the host only ever adds time.
//   bun bench/plugin-work-cost.ts [ROUNDS]
import { Value } from "@sinclair/typebox/value";
import { createCorsInstance } from "../plugins/cors/handler.ts";
import { CorsConfigSchema } from "../plugins/cors/schema.ts";
import { createRateLimitingInstance } from "../plugins/rate-limiting/handler.ts";
import { RateLimitingConfigSchema } from "../plugins/rate-limiting/schema.ts";
import type { Chain } from "../src/pipeline/chains.ts";
import type { PluginInstance, StateLookups } from "../src/pipeline/contract.ts";
import { PluginRequestContext } from "../src/pipeline/request-context.ts";
import { runAccess, runResponse } from "../src/pipeline/run-chain.ts";
import { NO_OWNED_HEADERS } from "../src/proxy/client-headers.ts";

const ROUNDS = Number(process.argv[2] ?? 30);
const REQUESTS = 30_000;

const consumer = { id: "c1", username: "bench", custom_id: null, tags: null, created_at: 0, updated_at: 0 };
const state = { rows: () => [], uniqueIndex: () => new Map(), consumer: () => undefined, keys: [] } as unknown as StateLookups;
const authenticates: PluginInstance = {
  access(ctx) {
    ctx.consumer = consumer as never;
    return undefined;
  },
};
const cors = createCorsInstance(Value.Default(CorsConfigSchema, { origins: ["https://app.example"] }) as never);
const rateLimiting = createRateLimitingInstance(Value.Default(RateLimitingConfigSchema, { second: 1_000_000_000, policy: "local" }) as never, state);

function chainOf(instances: PluginInstance[]): Chain {
  const responders = instances.filter((instance) => instance.response);
  const steps = instances.map((general, i) => ({ name: String(i), priority: 0, general, generalConfig: null, byConsumer: null }));
  return { steps, authFallback: null, hasResponsePhase: responders.length > 0, responders, hasLogPhase: instances.some((instance) => instance.log), ownedHeaders: NO_OWNED_HEADERS };
}

const jwtAlone = chainOf([authenticates]);
const withPlugins = chainOf([cors, authenticates, rateLimiting]);
const upstreamHead: [string, string][] = [["Server", "nginx/1.22.1"], ["Date", "Wed, 02 Dec 2026 12:00:00 GMT"], ["Content-Type", "application/json"], ["Content-Length", "29"]];
const request = new Request("http://127.0.0.1:9601/bench", { headers: { host: "127.0.0.1:9601", authorization: "Bearer bench" } });
const events = { event() {} };

/** The flow of src/proxy/request-flow.ts for one request, from the context to the answered Response. */
function serve(chain: Chain): Response | Promise<Response> {
  const ctx = new PluginRequestContext(request, "request-id", "127.0.0.1", state, "route", null, events);
  ctx.identityHeadersCleared = true;
  const outcome = runAccess(chain, ctx);
  if (outcome instanceof Promise) throw new Error("the bench plugins answer synchronously");
  const upstream = new Response(null, { status: 200, headers: upstreamHead });
  const headers = upstream.headers;
  headers.set("x-request-id", ctx.requestId);
  const pairs = ctx.responseHeaders;
  if (pairs) for (let i = 0; i < pairs.length; i += 2) headers.set(pairs[i]!, pairs[i + 1]!);
  return chain.hasResponsePhase ? runResponse(outcome.responders, ctx, upstream) : upstream;
}

function microsecondsPerRequest(chain: Chain): number {
  const started = performance.now();
  for (let i = 0; i < REQUESTS; i++) serve(chain);
  return ((performance.now() - started) * 1000) / REQUESTS;
}

for (let i = 0; i < 3; i++) [microsecondsPerRequest(jwtAlone), microsecondsPerRequest(withPlugins)];
let alone = Infinity;
let plugins = Infinity;
for (let round = 0; round < ROUNDS; round++) {
  alone = Math.min(alone, microsecondsPerRequest(jwtAlone));
  plugins = Math.min(plugins, microsecondsPerRequest(withPlugins));
}
console.log(`jwt alone ${alone.toFixed(3)} us, + rate-limiting + cors ${plugins.toFixed(3)} us: the two plugins' work ${(plugins - alone).toFixed(3)} us per request (minimum of ${ROUNDS} rounds of ${REQUESTS})`);
