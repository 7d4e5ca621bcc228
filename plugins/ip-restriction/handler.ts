// The ip-restriction plugin's access phase, as Kong's: deny list first, then the allow list;
// the client address is the peer, or behind `--trusted-ips` proxies the X-Forwarded-For walk.
import type { AccessResult, PluginInstance, RequestContext } from "../../src/pipeline/contract.ts";
import { addressSet } from "../../src/proxy/client-address.ts";
import { messageResponse } from "../../src/proxy/responses.ts";
import type { IpRestrictionConfig } from "./schema.ts";

export function createIpRestrictionInstance(config: IpRestrictionConfig): PluginInstance {
  const deny = config.deny?.length ? addressSet(config.deny) : null;
  const allow = config.allow?.length ? addressSet(config.allow) : null;
  const status = config.status ?? 403;
  const message = config.message ?? "Your IP address is not allowed";
  const refuse = (_ctx: RequestContext) => messageResponse(status, message);
  return {
    access(ctx: RequestContext): AccessResult {
      const ip = ctx.clientIp;
      if (deny?.has(ip)) return refuse(ctx);
      if (allow && !allow.has(ip)) return refuse(ctx);
      return undefined;
    },
  };
}
