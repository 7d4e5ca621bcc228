import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { startUpstream, type Echo, type TestUpstream } from "./support/upstream.ts";

let upstream: TestUpstream;
let gateway: TestGateway;
beforeAll(() => {
  upstream = startUpstream();
  gateway = startTestGateway();
  gateway.store.create("services", { name: "echo", url: `${upstream.url}/base` });
  gateway.store.create("routes", { name: "r", service: { name: "echo" }, paths: ["/api"] });
});
afterAll(async () => {
  await gateway.close();
  await upstream.stop();
});

test("GET is proxied with strip_path and query intact", async () => {
  const res = await gateway.request("/api/items?a=1&b=2", { headers: { "x-custom": "v" } });
  expect(res.status).toBe(200);
  const echo = (await res.json()) as Echo;
  expect(echo.path).toBe("/base/items");
  expect(echo.query).toBe("?a=1&b=2");
  expect(echo.headers["x-custom"]).toBe("v");
  expect(echo.headers.host).toBe(`127.0.0.1:${upstream.port}`);
  expect(res.headers.get("x-request-id")).toBeTruthy();
});

test("no route → 404 with Kong's body", async () => {
  const res = await gateway.request("/nope");
  expect(res.status).toBe(404);
  expect(res.headers.get("content-type")).toBe("application/json; charset=utf-8");
  expect(await res.json()).toEqual({ message: "no Route matched with those values" });
});
