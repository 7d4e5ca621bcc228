// The ip-restriction plugin, priority 990 (Kong's): after jwt (1450) and the other
// authentication plugins, before acl (950) and rate-limiting (910).
import { definePlugin } from "../../src/pipeline/contract.ts";
import { createIpRestrictionInstance } from "./handler.ts";
import { type IpRestrictionConfig, IpRestrictionConfigSchema, checkIpRestrictionConfig } from "./schema.ts";

export const ipRestrictionPlugin = definePlugin<IpRestrictionConfig>({
  name: "ip-restriction",
  priority: 990,
  configSchema: IpRestrictionConfigSchema,
  check: checkIpRestrictionConfig,
  create: (config) => createIpRestrictionInstance(config),
});
