// How the gateway speaks TLS to each https service, compiled once per snapshot into the options
// object fetch is handed on every request (nothing is parsed or allocated per request).
// Verification is on unless the service says `tls_verify: false`, and it is always passed
// explicitly, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn it off. Bun
// checks the certificate chain and the host name itself; its default trust store is its
// bundled Mozilla roots plus the system's (/etc/ssl/certs, SSL_CERT_FILE). A service's
// `ca_certificates` replace that store for its upstream, as in Kong (README "Upstream TLS").
import type { CaCertificate } from "../entities/ca-certificate.ts";
import type { Certificate } from "../entities/certificate.ts";
import type { Service } from "../entities/service.ts";

/** The `tls` option of Bun's fetch, as the gateway uses it. */
export interface UpstreamTls {
  readonly rejectUnauthorized: boolean;
  /** The trust store, replacing the default one. */
  readonly ca?: readonly string[];
  /** mTLS: the `client_certificate`'s chain and private key, presented to the upstream. */
  readonly cert?: string;
  readonly key?: string;
  /** Why nothing is sent to this upstream (fetch ignores the field). */
  readonly refusal?: string;
}

export interface UpstreamTlsPlan {
  /** By service id; only https services have one. */
  readonly byService: ReadonlyMap<string, UpstreamTls>;
  /** Services that opted out of verification (`tls_verify: false`): warned about at load. */
  readonly unverified: readonly Service[];
  /** Services with a `tls_verify_depth`, which the gateway cannot enforce: warned about at load. */
  readonly depthIgnored: readonly Service[];
}

const VERIFY: UpstreamTls = Object.freeze({ rejectUnauthorized: true });
const NO_VERIFY: UpstreamTls = Object.freeze({ rejectUnauthorized: false });

export function compileUpstreamTls(services: readonly Service[], caCertificates: readonly CaCertificate[], certificates: readonly Certificate[]): UpstreamTlsPlan {
  const pems = new Map(caCertificates.map((ca) => [ca.id, ca.cert]));
  const pairs = new Map(certificates.map((certificate) => [certificate.id, certificate]));
  const byService = new Map<string, UpstreamTls>();
  const unverified: Service[] = [];
  const depthIgnored: Service[] = [];
  for (const service of services) {
    if (service.protocol !== "https") continue;
    const client = service.client_certificate ? pairs.get(service.client_certificate.id) : undefined;
    const identity = client ? { cert: client.cert, key: client.key } : {};
    if (service.client_certificate && !client) {
      byService.set(service.id, Object.freeze({ rejectUnauthorized: true, refusal: "upstream TLS: the service's client_certificate does not exist" }));
      continue;
    }
    if (service.tls_verify === false) {
      unverified.push(service);
      byService.set(service.id, client ? Object.freeze({ rejectUnauthorized: false, ...identity }) : NO_VERIFY);
      continue;
    }
    if (service.tls_verify_depth !== null) depthIgnored.push(service);
    // Writes refuse unknown ids; one deleted behind the store's back leaves fewer anchors. None
    // left must not mean the default store (what Bun does with an empty `ca`): nothing is trusted.
    const ca = service.ca_certificates?.flatMap((id) => pems.get(id) ?? []);
    if (ca?.length === 0) byService.set(service.id, Object.freeze({ rejectUnauthorized: true, refusal: "upstream TLS: none of the service's ca_certificates exists, so no certificate is trusted" }));
    else if (ca || client) byService.set(service.id, Object.freeze({ rejectUnauthorized: true, ...(ca ? { ca: Object.freeze(ca) } : {}), ...identity }));
    else byService.set(service.id, VERIFY);
  }
  return { byService, unverified, depthIgnored };
}

/**
 * Warns once per service about what its TLS settings give up: when it is first loaded with
 * `tls_verify: false` (or a `tls_verify_depth`), not again on every rebuild while it keeps it.
 * Returns the function to call with each new snapshot's plan.
 */
export function upstreamTlsWarner(warn: (fields: Record<string, unknown>) => void): (plan: UpstreamTlsPlan) => void {
  let warned = new Set<string>();
  return (plan) => {
    const current = new Set<string>();
    const once = (service: Service, what: string, message: string) => {
      const key = `${service.id}:${what}`;
      current.add(key);
      if (!warned.has(key)) warn({ level: "warn", message, service: service.name ?? service.id });
    };
    for (const service of plan.unverified) {
      once(service, "unverified", `service ${JSON.stringify(service.name ?? service.id)} has tls_verify: false: its upstream's certificate and host name are NOT verified`);
    }
    for (const service of plan.depthIgnored) {
      once(service, "depth", `service ${JSON.stringify(service.name ?? service.id)} sets tls_verify_depth ${service.tls_verify_depth}, which is not enforced (the chain is verified without a depth limit)`);
    }
    warned = current;
  };
}
