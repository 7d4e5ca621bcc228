// A real upstream HTTP server on loopback for tests: echoes what it received as JSON.
import type { Server } from "bun";

export interface Echo {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
}

export interface TestUpstream {
  server: Server<undefined>;
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts an upstream; `handler` overrides the default echo for special cases. */
export function startUpstream(handler?: (request: Request) => Response | Promise<Response>): TestUpstream {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    maxRequestBodySize: Number.MAX_SAFE_INTEGER,
    async fetch(request) {
      if (handler) return handler(request);
      const url = new URL(request.url);
      const echo: Echo = {
        method: request.method,
        path: url.pathname,
        query: url.search,
        headers: Object.fromEntries(request.headers),
        body: await request.text(),
      };
      return Response.json(echo, { headers: { "x-upstream": "echo" } });
    },
  });
  return {
    server,
    url: `http://127.0.0.1:${server.port}`,
    port: server.port as number,
    stop: () => server.stop(true),
  };
}
