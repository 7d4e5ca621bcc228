// correlation-id: keeps a client's correlation header, or sets one upstream, and with
// echo_downstream returns it to the client. The `uuid` generator's id is the gateway's own
// request id (X-Request-Id, logs, error bodies), so a generated correlation id and the
// request id are one value; `uuid#counter` and `tracker` make Kong's formats.
import type { PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import { type CorrelationIdConfig, DEFAULT_HEADER } from "./schema.ts";

/** Kong's per-worker uuid and counter (here per process: one worker is one process). */
const processUuid = crypto.randomUUID();
let counter = 0;

type Generator = (ctx: RequestContext) => string;

const GENERATE: Record<CorrelationIdConfig["generator"], Generator> = {
  uuid: (ctx) => ctx.requestId,
  "uuid#counter": () => `${processUuid}#${++counter}`,
  // Kong: server_addr-server_port-pid-connection-connection_requests-now. The gateway has no
  // connection serials on the request path; a per-process request counter stands in for both.
  tracker: (ctx) => {
    const url = ctx.url;
    const n = ++counter;
    return `${url.hostname}-${url.port || "80"}-${process.pid}-${n}-1-${(Date.now() / 1000).toFixed(3)}`;
  },
};

export function createCorrelationIdInstance(config: CorrelationIdConfig): PluginInstance {
  const header = (config.header_name ?? DEFAULT_HEADER).toLowerCase();
  const generate = GENERATE[config.generator];

  if (!config.echo_downstream) {
    return {
      access(ctx) {
        const headers = ctx.upstreamHeaders;
        if (!headers.get(header)) headers.set(header, generate(ctx));
        return undefined;
      },
    };
  }
  // The id as chosen in the access phase (a later transformer may rewrite the upstream copy).
  const chosen = new WeakMap<RequestContext, string>();
  return {
    access(ctx) {
      const headers = ctx.upstreamHeaders;
      let id = headers.get(header);
      if (!id) headers.set(header, (id = generate(ctx)));
      chosen.set(ctx, id);
      return undefined;
    },
    response(ctx, response) {
      const id = chosen.get(ctx);
      if (id !== undefined) response.headers.set(header, id);
      return response;
    },
  };
}
