// Runs a gateway proxy (no admin listener) in its own process for tests that measure it alone:
// `bun proxy-process.ts UPSTREAM_URL` → prints `PORT <n>` once listening.
import { MEMORY } from "../../src/db/connection.ts";
import { startCoreWithProxy } from "../../src/gateway.ts";

const upstream = process.argv[2]!;
const gateway = startCoreWithProxy({ db: MEMORY, proxyListen: { hostname: "127.0.0.1", port: 0 }, accessLog: "off" });
gateway.store.create("services", { name: "up", url: upstream });
gateway.store.create("routes", { name: "all", service: { name: "up" }, paths: ["/"] });
process.stdout.write(`PORT ${gateway.proxy.port}\n`);
process.on("SIGTERM", async () => {
  await gateway.stop(1000);
  process.exit(0);
});
