// Runs a gateway proxy with one jwt route in its own process, for tests that measure the
// plugin's memory alone: `bun jwt-proxy-process.ts UPSTREAM_URL HS256_SECRET` → prints
// `PORT <n>` once listening. Route `/` → the upstream, jwt with its defaults; consumer `alice`
// holds the HS256 credential `alice-key`.
import { MEMORY } from "../../src/db/connection.ts";
import { startCoreWithProxy } from "../../src/gateway.ts";

const [upstream, secret] = process.argv.slice(2) as [string, string];
const gateway = startCoreWithProxy({ db: MEMORY, proxyListen: { hostname: "127.0.0.1", port: 0 }, accessLog: "off" });
const store = gateway.store;
store.create("services", { name: "up", url: upstream });
const route = store.create("routes", { name: "all", service: { name: "up" }, paths: ["/"] });
store.create("plugins", { name: "jwt", route: { id: route.id } });
const alice = store.create("consumers", { username: "alice" });
store.create("jwt_secrets", { key: "alice-key", algorithm: "HS256", secret }, { kind: "consumers", id: alice.id });
process.stdout.write(`PORT ${gateway.proxy.port}\n`);
process.on("SIGTERM", async () => {
  await gateway.stop(1000);
  process.exit(0);
});
