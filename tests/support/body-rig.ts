// Test support for plugins that read request bodies: a gateway whose route `/api` goes to a
// real Node `http` upstream that answers with the bytes it received, and a client that sends a
// body with a Content-Length or chunked.
import type { GatewayOptions } from "../../src/gateway.ts";
import { type TestGateway, startTestGateway } from "./gateway.ts";
import { type NodeEcho, type NodeUpstream, startNodeUpstream } from "./node-upstream.ts";

/** What the upstream got, or the gateway's own answer. */
export interface Delivered {
  status: number;
  /** The gateway's answer as text (the upstream's echo on success). */
  text: string;
  /** The body bytes the upstream received (empty when it was not reached). */
  body: Buffer;
  /** The values of a request header as the upstream received it (case-insensitive). */
  header(name: string): string[];
}

export interface SendOptions {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  /** Sent as a stream in three pieces, so it goes chunked (no Content-Length). */
  chunked?: boolean;
}

export interface BodyRig {
  gateway: TestGateway;
  routeId: string;
  send(body: string | Uint8Array | null, options?: SendOptions): Promise<Delivered>;
  close(): Promise<void>;
}

function chunkedStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  const third = Math.ceil(bytes.byteLength / 3);
  return new ReadableStream({
    start(controller) {
      for (let at = 0; at < bytes.byteLength; at += third) controller.enqueue(bytes.slice(at, at + third));
      controller.close();
    },
  });
}

/** A gateway with service `node` and route `/api` to a Node upstream, and `setup` run on its store before traffic. */
export async function startBodyRig(setup: (gateway: TestGateway, routeId: string) => void, options: Partial<GatewayOptions> = {}): Promise<BodyRig> {
  const upstream: NodeUpstream = await startNodeUpstream("none");
  const gateway = startTestGateway(options);
  gateway.store.create("services", { name: "node", url: upstream.url });
  const route = gateway.store.create("routes", { name: "api", service: { name: "node" }, paths: ["/api"], strip_path: false });
  setup(gateway, route.id);
  return {
    gateway,
    routeId: route.id,
    async send(body, options = {}) {
      const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
      const init = {
        method: options.method ?? "POST",
        headers: options.headers ?? {},
        body: bytes === null ? undefined : options.chunked ? chunkedStream(bytes) : bytes,
        duplex: "half",
      } as RequestInit;
      const response = await gateway.request(options.path ?? "/api", init);
      const text = await response.text();
      const echo = response.status === 200 && response.headers.get("x-gateway-upstream-latency") !== null ? (JSON.parse(text) as NodeEcho) : null;
      return {
        status: response.status,
        text,
        body: echo ? Buffer.from(echo.body, "base64") : Buffer.alloc(0),
        header: (name) => (echo?.rawHeaders ?? []).filter(([each]) => each.toLowerCase() === name.toLowerCase()).map(([, value]) => value),
      };
    },
    async close() {
      await gateway.close();
      await upstream.stop();
    },
  };
}
