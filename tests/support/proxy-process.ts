// Runs a gateway proxy (no admin listener) in its own process for tests that measure it alone:
// `bun proxy-process.ts UPSTREAM_URL [tls]` → prints `PORT <n>` once listening (with `tls`, the
// port of a TLS listener with a self-signed default certificate, and no plain one).
import { MEMORY } from "../../src/db/connection.ts";
import { startCoreWithProxy } from "../../src/gateway.ts";
import { selfSignedDefault } from "../../src/tls/generate.ts";

const upstream = process.argv[2]!;
const secure = process.argv[3] === "tls";
const listen = { hostname: "127.0.0.1", port: 0 };
const gateway = secure
  ? startCoreWithProxy({ db: MEMORY, proxyListen: null, proxyListenTls: listen, tlsDefault: await selfSignedDefault(), accessLog: "off" })
  : startCoreWithProxy({ db: MEMORY, proxyListen: listen, accessLog: "off" });
gateway.store.create("services", { name: "up", url: upstream });
gateway.store.create("routes", { name: "all", service: { name: "up" }, paths: ["/"] });
process.stdout.write(`PORT ${secure ? gateway.tlsProxy!.port : gateway.proxy.port}\n`);
process.on("SIGTERM", async () => {
  await gateway.stop(1000);
  process.exit(0);
});
