// Route path_handling v0/v1 × strip_path × service path × request path, against stock nginx
// echoing the request target it received ($request_uri): the table of Kong's Admin API docs,
// plus the other branches of Kong's joining (a service path with a trailing slash, none, an
// exact-prefix request, a route without paths).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { describeWithNginx, type RunningNginx, startNginx } from "./support/nginx.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

type Row = [servicePath: string | null, routePath: string | null, strip: boolean, handling: "v0" | "v1", request: string, proxied: string];

const ROWS: Row[] = [
  // Kong's documented table (Admin API, route object, path_handling).
  ["/s", "/fv0", false, "v0", "/fv0req", "/s/fv0req"],
  ["/s", "/fv1", false, "v1", "/fv1req", "/sfv1req"],
  ["/s", "/tv0", true, "v0", "/tv0req", "/s/req"],
  ["/s", "/tv1", true, "v1", "/tv1req", "/sreq"],
  ["/s", "/fv0/", false, "v0", "/fv0/req", "/s/fv0/req"],
  ["/s", "/fv1/", false, "v1", "/fv1/req", "/sfv1/req"],
  ["/s", "/tv0/", true, "v0", "/tv0/req", "/s/req"],
  ["/s", "/tv1/", true, "v1", "/tv1/req", "/sreq"],
  // The other branches of Kong's get_upstream_uri_v0 and of its v1 join.
  ["/s/", "/a", true, "v0", "/a", "/s"],
  ["/s/", "/a", true, "v0", "/a/", "/s/"],
  ["/s/", "/a", true, "v0", "/a/x", "/s/x"],
  ["/s/", "/a", true, "v0", "/ax", "/s/x"],
  ["/s/", "/a", false, "v0", "/a/x", "/s/a/x"],
  ["/s", "/a/", true, "v0", "/a/", "/s/"],
  ["/s", "/a", true, "v0", "/a", "/s"],
  ["/s", "/a", true, "v0", "/a/x", "/s/x"],
  ["/s", null, false, "v0", "/", "/s"],
  ["/s", null, false, "v0", "/x", "/s/x"],
  [null, "/a", true, "v0", "/a", "/"],
  [null, "/a", true, "v0", "/a/x", "/x"],
  [null, "/a", false, "v0", "/a/x", "/a/x"],
  ["/s/", "/a", true, "v1", "/a/x", "/s/x"],
  ["/s/", "/a", true, "v1", "/ax", "/s/x"],
  ["/s/", "/a", false, "v1", "/a/x", "/s/a/x"],
  ["/s", "/a", true, "v1", "/a", "/s"],
  ["/s", null, false, "v1", "/x", "/sx"],
  [null, "/a", true, "v1", "/a/x", "/x"],
];

let nginx: RunningNginx;
let gateway: TestGateway;

beforeAll(async () => {
  nginx = await startNginx(`default_type text/plain;\n      location / { return 200 "$request_uri"; }`);
  gateway = startTestGateway();
  ROWS.forEach(([servicePath, routePath, strip, handling], i) => {
    const service = gateway.store.create("services", { name: `s${i}`, url: `${nginx.url}${servicePath ?? ""}` });
    // A host per row keeps the rows' routes apart; a row without a route path matches on its host alone.
    gateway.store.create("routes", {
      name: `r${i}`,
      service: { id: service.id },
      hosts: [`row${i}.test`],
      ...(routePath ? { paths: [routePath] } : {}),
      strip_path: strip,
      path_handling: handling,
    });
  });
});

afterAll(async () => {
  await gateway?.close();
  await nginx?.stop();
});

describeWithNginx("path_handling joins paths as Kong does", () => {
  ROWS.forEach(([servicePath, routePath, strip, handling, request, proxied], i) => {
    test(`service ${servicePath ?? "(none)"}, route ${routePath ?? "(none)"}, strip_path ${strip}, ${handling}: ${request} → ${proxied}`, async () => {
      const response = await gateway.request(`${request}?q=1`, { headers: { host: `row${i}.test` } });
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(`${proxied}?q=1`);
    });
  });

  test("a join that would make a dot segment is refused, not sent", async () => {
    const response = await gateway.request("/tv0..", { headers: { host: "row2.test" } });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toMatch(/invalid request path/);
  });
});
