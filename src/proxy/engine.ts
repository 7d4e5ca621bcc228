// Which socket layer serves the proxy listeners: `raw` (the default: Bun.listen with the
// gateway's own HTTP/1.1 connection handling, src/proxy/raw/) or `serve` (Bun.serve). Both run
// the same request flow (./request-flow.ts); only how bytes become requests differs. `raw` is
// the default since issue 20's proof held: its parser agrees with llhttp on every generated
// stream, the whole suite passes on it and the parity test finds both engines send the same.
import { UsageError } from "../errors.ts";

export const PROXY_ENGINES = ["serve", "raw"] as const;
export type ProxyEngine = (typeof PROXY_ENGINES)[number];
export const DEFAULT_PROXY_ENGINE: ProxyEngine = "raw";

/** `--proxy-engine` as typed (or GATEWAY_PROXY_ENGINE); an unknown value is a usage error naming the flag. */
export function parseProxyEngine(text: string): ProxyEngine {
  if ((PROXY_ENGINES as readonly string[]).includes(text)) return text as ProxyEngine;
  throw new UsageError(`--proxy-engine ${text}: expected ${PROXY_ENGINES.join(" or ")}`);
}

/**
 * `--proxy-engine` when given, else GATEWAY_PROXY_ENGINE (so a whole test run can choose one;
 * empty is unset), else the default.
 */
export function chosenProxyEngine(flag?: string): ProxyEngine {
  if (flag !== undefined) return parseProxyEngine(flag);
  const text = process.env.GATEWAY_PROXY_ENGINE;
  return text === undefined || text === "" ? DEFAULT_PROXY_ENGINE : parseProxyEngine(text);
}
