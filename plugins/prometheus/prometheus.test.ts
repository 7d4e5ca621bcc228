// prometheus through the real proxy: Kong 3.x's series on the admin /metrics (names, labels,
// buckets), its defaults (nothing per service until a family is on), per_consumer, routes
// without the plugin, and the worker snapshot sums.
import { afterAll, describe, expect, test } from "bun:test";
import { Metrics, PluginSeries, renderMetrics } from "../../src/metrics.ts";
import { type TestGateway, startTestGateway } from "../../tests/support/gateway.ts";
import { type TestUpstream, startUpstream } from "../../tests/support/upstream.ts";
import { openAdmin } from "../../tests/admin-harness.ts";
import { createPrometheusInstance } from "./handler.ts";

const upstream: TestUpstream = startUpstream();
afterAll(() => upstream.stop());

let serial = 0;

/** A gateway whose service and route names are unique to this test (the plugin series are per process). */
async function withRig(config: Record<string, unknown> | null, run: (g: TestGateway, names: { service: string; route: string }) => Promise<void>, consumerKey?: string): Promise<void> {
  const names = { service: `svc-${process.pid}-${++serial}`, route: `route-${process.pid}-${serial}` };
  const gateway = startTestGateway();
  try {
    gateway.store.create("services", { name: names.service, url: upstream.url });
    const route = gateway.store.create("routes", { name: names.route, service: { name: names.service }, paths: [`/${names.route}`] });
    if (config) gateway.store.create("plugins", { name: "prometheus", config, route: { id: route.id } });
    if (consumerKey) {
      const alice = gateway.store.create("consumers", { username: "alice" });
      gateway.store.create("keyauth_credentials", { key: consumerKey }, { kind: "consumers", id: alice.id });
      gateway.store.create("plugins", { name: "key-auth", route: { id: route.id } });
    }
    await run(gateway, names);
  } finally {
    await gateway.close();
  }
}

const metricsOf = (g: TestGateway) => g.metrics.render(g.state.current.version);

describe("Kong's series on /metrics", () => {
  test("status_code_metrics: kong_http_requests_total{service,route,code,source,workspace,consumer}; gateway_* unchanged", () =>
    withRig({ status_code_metrics: true }, async (g, { service, route }) => {
      expect((await g.request(`/${route}/a`)).status).toBe(200);
      expect((await g.request(`/${route}/b`)).status).toBe(200);
      const text = metricsOf(g);
      expect(text).toContain("# TYPE kong_http_requests_total counter\n");
      expect(text).toContain(`kong_http_requests_total{service="${service}",route="${route}",code="200",source="service",workspace="default",consumer=""} 2\n`);
      expect(text).toContain(`gateway_http_requests_total{route="${route}",status="200"} 2\n`);
      expect(text).not.toContain(`kong_request_latency_ms_count{service="${service}"`);
    }));

  test("latency_metrics: request, upstream and kong latency histograms with Kong's buckets", () =>
    withRig({ latency_metrics: true }, async (g, { service, route }) => {
      await g.request(`/${route}`);
      const text = metricsOf(g);
      const labels = `service="${service}",route="${route}",workspace="default"`;
      expect(text).toContain("# TYPE kong_request_latency_ms histogram\n");
      for (const metric of ["kong_request_latency_ms", "kong_upstream_latency_ms", "kong_kong_latency_ms"]) {
        expect(text).toContain(`${metric}_bucket{${labels},le="+Inf"} 1\n`);
        expect(text).toContain(`${metric}_count{${labels}} 1\n`);
      }
      expect(text).toContain(`kong_upstream_latency_ms_bucket{${labels},le="25"}`);
      expect(text).toContain(`kong_request_latency_ms_bucket{${labels},le="60000"} 1\n`);
      expect(text).not.toContain(`kong_http_requests_total{service="${service}"`);
    }));

  test("bandwidth_metrics: ingress the body bytes read, egress the declared length", () =>
    withRig({ bandwidth_metrics: true }, async (g, { service, route }) => {
      const response = await g.request(`/${route}`, { method: "POST", body: "0123456789" });
      const length = Buffer.byteLength(await response.text());
      const text = metricsOf(g);
      expect(text).toContain(`kong_bandwidth_bytes{service="${service}",route="${route}",direction="ingress",workspace="default"} 10\n`);
      expect(text).toContain(`kong_bandwidth_bytes{service="${service}",route="${route}",direction="egress",workspace="default"} ${length}\n`);
    }));

  test("per_consumer: the consumer label is the username; false leaves it empty", async () => {
    await withRig(
      { status_code_metrics: true, per_consumer: true },
      async (g, { service, route }) => {
        expect((await g.request(`/${route}`, { headers: { apikey: "alice-key-0123456789abcdef" } })).status).toBe(200);
        expect(metricsOf(g)).toContain(`kong_http_requests_total{service="${service}",route="${route}",code="200",source="service",workspace="default",consumer="alice"} 1\n`);
      },
      "alice-key-0123456789abcdef",
    );
    await withRig(
      { status_code_metrics: true },
      async (g, { service, route }) => {
        await g.request(`/${route}`, { headers: { apikey: "alice-key-0123456789abcdef" } });
        expect(metricsOf(g)).toContain(`kong_http_requests_total{service="${service}",route="${route}",code="200",source="service",workspace="default",consumer=""} 1\n`);
      },
      "alice-key-0123456789abcdef",
    );
  });

  test("the gateway's and plugins' own answers count with source=\"kong\": key-auth's 401, and no upstream latency for them", () =>
    withRig(
      { status_code_metrics: true, latency_metrics: true, per_consumer: true },
      async (g, { service, route }) => {
        const refused = await g.request(`/${route}`);
        expect([refused.status, await refused.json()]).toEqual([401, { message: "No API key found in request" }]);
        expect((await g.request(`/${route}`, { headers: { apikey: "not-a-key-of-anyone" } })).status).toBe(401);
        expect((await g.request(`/${route}`, { headers: { apikey: "alice-key-0123456789abcdef" } })).status).toBe(200);
        const text = metricsOf(g);
        const labels = `service="${service}",route="${route}"`;
        expect(text).toContain(`kong_http_requests_total{${labels},code="401",source="kong",workspace="default",consumer=""} 2\n`);
        expect(text).toContain(`kong_http_requests_total{${labels},code="200",source="service",workspace="default",consumer="alice"} 1\n`);
        expect(text).toContain(`kong_kong_latency_ms_count{${labels},workspace="default"} 3\n`);
        expect(text).toContain(`kong_request_latency_ms_count{${labels},workspace="default"} 3\n`);
        expect(text).toContain(`kong_upstream_latency_ms_count{${labels},workspace="default"} 1\n`);
      },
      "alice-key-0123456789abcdef",
    ));

  test("an upstream that cannot be reached: the gateway's 502 counts with source=\"kong\"", async () => {
    const names = { service: `svc-${process.pid}-${++serial}`, route: `route-${process.pid}-${serial}` };
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const gateway = startTestGateway();
    try {
      gateway.store.create("services", { name: names.service, url: `http://127.0.0.1:${port}`, retries: 0 });
      const route = gateway.store.create("routes", { name: names.route, service: { name: names.service }, paths: [`/${names.route}`] });
      gateway.store.create("plugins", { name: "prometheus", config: { status_code_metrics: true }, route: { id: route.id } });
      const answer = await gateway.request(`/${names.route}`);
      expect([answer.status, await answer.json()]).toEqual([502, { message: "An invalid response was received from the upstream server" }]);
      expect(metricsOf(gateway)).toContain(`kong_http_requests_total{service="${names.service}",route="${names.route}",code="502",source="kong",workspace="default",consumer=""} 1\n`);
    } finally {
      await gateway.close();
    }
  });

  test("Kong 3.x defaults (every family off), and the fields Kong files carry, are accepted and record nothing", () =>
    withRig({ per_consumer: false, upstream_health_metrics: true, ai_metrics: false, wasm_metrics: false }, async (g, { service }) => {
      expect((await g.request(`/route-${process.pid}-${serial}`)).status).toBe(200);
      expect(metricsOf(g)).not.toContain(`service="${service}"`);
    }));

  test("a route without the plugin records no kong_* series", () =>
    withRig(null, async (g, { service }) => {
      await g.request(`/route-${process.pid}-${serial}`);
      expect(metricsOf(g)).not.toContain(`service="${service}"`);
    }));

  test("an unknown field is refused", async () => {
    const g = startTestGateway();
    try {
      expect(() => g.store.create("plugins", { name: "prometheus", config: { per_service: true } })).toThrow();
    } finally {
      await g.close();
    }
  });
});

describe("instances", () => {
  test("no family on: no response phase (the route pays nothing)", () => {
    expect(createPrometheusInstance({ per_consumer: true, status_code_metrics: false, latency_metrics: false, bandwidth_metrics: false, upstream_health_metrics: true, ai_metrics: false, wasm_metrics: false }).response).toBeUndefined();
  });
});

describe("workers: plugin series travel in the metrics snapshot", () => {
  function worker(requests: number): Metrics {
    const metrics = Metrics.empty();
    for (let i = 0; i < requests; i++) metrics.plugins.count("kong_http_requests_total", 'service="s",route="r",code="200",source="service",workspace="default",consumer=""');
    metrics.plugins.observe("kong_upstream_latency_ms", 'service="s",route="r",workspace="default"', 30);
    return metrics;
  }

  test("the sum adds counters and histograms; from(snapshot) renders the same", () => {
    const total = Metrics.empty();
    total.add(worker(2).snapshot());
    total.add(worker(3).snapshot());
    const text = total.render(1);
    expect(text).toContain('kong_http_requests_total{service="s",route="r",code="200",source="service",workspace="default",consumer=""} 5\n');
    expect(text).toContain('kong_upstream_latency_ms_bucket{service="s",route="r",workspace="default",le="25"} 0\n');
    expect(text).toContain('kong_upstream_latency_ms_bucket{service="s",route="r",workspace="default",le="50"} 2\n');
    expect(text).toContain('kong_upstream_latency_ms_sum{service="s",route="r",workspace="default"} 60\n');
    expect(Metrics.from(total.snapshot()).render(1)).toBe(text);
  });

  test("per worker: the worker label goes first, one TYPE line per metric", () => {
    const text = renderMetrics([{ label: 'worker="1"', metrics: worker(1) }, { label: 'worker="2"', metrics: worker(2) }], 1);
    expect(text.match(/# TYPE kong_http_requests_total counter/g)).toHaveLength(1);
    expect(text).toContain('kong_http_requests_total{worker="2",service="s",route="r",code="200",source="service",workspace="default",consumer=""} 2\n');
  });

  test("a snapshot without plugin series (an older worker) still adds", () => {
    const total = Metrics.empty();
    const { plugins: _, ...old } = worker(1).snapshot();
    total.add(old);
    expect(total.render(1)).not.toContain("kong_");
  });

  test("a separate registry stays separate from the process's", () => {
    const own = new PluginSeries();
    own.count("kong_bandwidth_bytes", 'service="only-here"', 5);
    expect(new Metrics(own).render(1)).toContain('kong_bandwidth_bytes{service="only-here"} 5\n');
    expect(new Metrics().render(1)).not.toContain("only-here");
  });
});

describe("admin /metrics", () => {
  test("renders the process's plugin series next to gateway_*", async () => {
    const admin = openAdmin();
    try {
      admin.deps.metrics.plugins.count("kong_http_requests_total", 'service="admin-seen",route="r",code="503",source="service",workspace="default",consumer=""');
      const reply = await admin.call("GET", "/metrics");
      expect(reply.text).toContain('kong_http_requests_total{service="admin-seen",route="r",code="503",source="service",workspace="default",consumer=""} 1\n');
      expect(reply.text).toContain("gateway_config_version");
    } finally {
      admin.close();
    }
  });
});
