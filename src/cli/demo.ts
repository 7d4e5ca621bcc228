// `gateway demo`: a whole protected API in one process, nothing on disk: an in-memory gateway,
// a built-in echo upstream, a jwt + acl route, a consumer with a fresh ES256 key, and the
// token and curl commands that show 200, 401 and 403.
import { type KeyObject, generateKeyPairSync } from "node:crypto";
import { startAdminServer } from "../admin/server.ts";
import { MEMORY } from "../db/connection.ts";
import { UsageError, describeError } from "../errors.ts";
import { now } from "../entities/common.ts";
import { type RunningProxy, startCoreWithProxy } from "../gateway.ts";
import { VERSION } from "../version.ts";
import { type Address, type Command, flagOrEnv, formatAddress, helpRequested, isLoopback, parseAddress, parseFlags } from "./command.ts";
import { pemPairFromFiles } from "./tls-options.ts";
import { signToken } from "./tokens.ts";

/** The demo's tokens stay valid for a working day, so the printed commands keep working. */
const TOKEN_LIFETIME_SECONDS = 24 * 3600;
const DEFAULT_PROXY = "127.0.0.1:8000";
const DEFAULT_ADMIN = "127.0.0.1:8001";
/** How many following ports are tried when a default port is taken. */
const PORT_ATTEMPTS = 20;

const usage = `Usage: gateway demo [--proxy-listen ADDR] [--admin-listen ADDR] [--tls PREFIX]

Starts an in-memory gateway (nothing is written to disk) in front of a built-in echo upstream:
route /demo needs a JWT (jwt plugin) from a consumer in group "demo" (acl plugin). Prints a
token for consumer "demo" (ES256, fresh key, valid for 24 hours) and curl commands that show
200 with it, 401 without, 403 for a consumer outside the group, and the Swagger UI address.
Serves until Ctrl-C (SIGINT) or SIGTERM. Access log lines go to stdout.

  --proxy-listen ADDR    proxy listener (default ${DEFAULT_PROXY}, or the next free port)
  --admin-listen ADDR    admin API listener (default ${DEFAULT_ADMIN}, or the next free port)
  --tls PREFIX           the proxy speaks TLS only, with PREFIX.pem and PREFIX-key.pem; the
                         curl commands trust PREFIX-ca.pem. Make them first with
                         gateway cert dev --host localhost --out PREFIX
`;

/** Listens on `address`; on the default address, moves up to the next free port. */
export async function listenFrom<T>(address: Address, fallback: boolean, what: string, start: (address: Address) => Promise<T> | T): Promise<T> {
  const attempts = fallback && address.port !== 0 ? PORT_ATTEMPTS : 1;
  for (let i = 0; ; i++) {
    const candidate = { ...address, port: address.port + i };
    try {
      return await start(candidate);
    } catch (error) {
      const inUse = (error as { code?: string }).code === "EADDRINUSE";
      if (!inUse || i + 1 >= attempts) {
        const where = `${candidate.hostname}:${candidate.port}`;
        throw new Error(`${what} ${where}: ${inUse ? `address already in use${attempts > 1 ? ` (and the ${attempts - 1} ports after it)` : ""}` : describeError(error)}`);
      }
    }
  }
}

/** Answers every request with what it received, so the headers the gateway adds are visible. */
function startEchoUpstream() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      const url = new URL(request.url);
      const header = (name: string) => request.headers.get(name) ?? undefined;
      return Response.json({
        message: "hello from the demo upstream",
        method: request.method,
        path: url.pathname,
        consumer: header("x-consumer-username"),
        credential: header("x-credential-identifier"),
        groups: header("x-consumer-groups"),
      });
    },
  });
}

function newConsumerKey(): { privateKey: KeyObject; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  return { privateKey, publicPem: publicKey.export({ type: "spki", format: "pem" }).toString() };
}

/** Service, route, plugins and the two consumers; returns a token for each consumer. */
async function configure(gateway: RunningProxy, upstreamUrl: string): Promise<{ member: string; outsider: string }> {
  const { store } = gateway;
  store.create("services", { name: "demo", url: upstreamUrl });
  store.create("routes", { name: "demo", service: "demo", paths: ["/demo"] });
  store.create("plugins", { name: "jwt", route: "demo", config: { claims_to_verify: ["exp"] } });
  store.create("plugins", { name: "acl", route: "demo", config: { allow: ["demo"] } });
  const iat = now();
  const tokenFor = async (username: string, group: string) => {
    const consumer = store.create("consumers", { username });
    store.create("acls", { group }, { kind: "consumers", id: consumer.id });
    const { privateKey, publicPem } = newConsumerKey();
    const issuer = `${username}-issuer`;
    store.create("jwt_secrets", { key: issuer, algorithm: "ES256", rsa_public_key: publicPem }, { kind: "consumers", id: consumer.id });
    return signToken({ iss: issuer, sub: username, iat, exp: iat + TOKEN_LIFETIME_SECONDS }, "ES256", privateKey);
  };
  return { member: await tokenFor("demo", "demo"), outsider: await tokenFor("outsider", "visitors") };
}

export const demoCommand: Command = {
  name: "demo",
  summary: "run a protected demo API in memory and print a token and curl commands",
  usage,
  async run(argv) {
    const { values } = parseFlags(argv, { "proxy-listen": { type: "string" }, "admin-listen": { type: "string" }, tls: { type: "string" } });
    if (helpRequested(values, usage)) return 0;
    const proxyText = flagOrEnv(values["proxy-listen"], "proxy-listen");
    const adminText = flagOrEnv(values["admin-listen"], "admin-listen");
    const proxyListen = parseAddress(proxyText ?? DEFAULT_PROXY, "--proxy-listen");
    const adminListen = parseAddress(adminText ?? DEFAULT_ADMIN, "--admin-listen");
    if (!isLoopback(adminListen.hostname)) {
      throw new UsageError(`--admin-listen ${adminText}: the demo's admin API has no token, so it listens on loopback only`);
    }

    const tlsPrefix = values.tls as string | undefined;
    const tls = tlsPrefix === undefined ? undefined : pemPairFromFiles(`${tlsPrefix}.pem`, `${tlsPrefix}-key.pem`, "--tls", "--tls");
    const upstream = startEchoUpstream();
    let gateway: RunningProxy | undefined;
    let admin: Awaited<ReturnType<typeof startAdminServer>> | undefined;
    try {
      gateway = await listenFrom(proxyListen, proxyText === undefined, "proxy listener", (address) =>
        startCoreWithProxy(tls ? { db: MEMORY, proxyListen: null, proxyListenTls: address, tlsDefault: tls, accessLog: "stdout" } : { db: MEMORY, proxyListen: address, accessLog: "stdout" }),
      );
      const core = gateway;
      admin = await listenFrom(adminListen, adminText === undefined, "admin listener", (address) =>
        startAdminServer(
          { store: core.store, state: core.state, metrics: core.metrics, mode: "database", version: VERSION, registry: core.registry, startedAt: Date.now() },
          address,
        ),
      );
      const tokens = await configure(gateway, `http://127.0.0.1:${upstream.port}`);
      // The development certificate names localhost, not the loopback address.
      const proxyUrl = tls ? formatAddress("localhost", gateway.proxy.port, "https") : formatAddress(proxyListen.hostname === "0.0.0.0" ? "127.0.0.1" : proxyListen.hostname, gateway.proxy.port);
      const curl = tls ? `curl --cacert ${tlsPrefix}-ca.pem` : "curl";
      const adminUrl = formatAddress(adminListen.hostname, admin.port);
      process.stdout.write(`gateway ${VERSION} demo: an in-memory gateway; route /demo needs a JWT of a consumer in group "demo"

  proxy:     ${proxyUrl}
  admin API: ${adminUrl}
  upstream:  http://127.0.0.1:${upstream.port} (built-in echo)

Token of consumer "demo" (ES256, iss "demo-issuer", group "demo", valid for 24 hours):

${tokens.member}

With the token: 200, the upstream echoes the consumer the gateway identified
${curl} -i ${proxyUrl}/demo -H 'Authorization: Bearer ${tokens.member}'

Without a token: 401
${curl} -i ${proxyUrl}/demo

A valid token of consumer "outsider", who is not in group "demo": 403
${curl} -i ${proxyUrl}/demo -H 'Authorization: Bearer ${tokens.outsider}'

The consumers and credentials behind it, in Swagger UI:
${adminUrl}/docs

Ctrl-C stops the demo. Access log:
`);
    } catch (error) {
      await admin?.stop(0);
      await gateway?.stop(0);
      await upstream.stop(true);
      throw error;
    }

    const running = { gateway, admin };
    return new Promise<number>((resolve) => {
      let stopping = false;
      const shutdown = async () => {
        if (stopping) return;
        stopping = true;
        await running.admin.stop(1000);
        await running.gateway.stop(1000);
        await upstream.stop(true);
        resolve(0);
      };
      process.on("SIGTERM", () => void shutdown());
      process.on("SIGINT", () => void shutdown());
    });
  },
};
