// The acl plugin (SPEC §5.4), priority 950: group-based allow/deny after authentication.
import { definePlugin } from "../../src/pipeline/contract.ts";
import { aclEntity } from "./entity.ts";
import { createAclInstance, groupsByConsumer } from "./handler.ts";
import { type AclConfig, AclConfigSchema, checkAclConfig } from "./schema.ts";

export const aclPlugin = definePlugin<AclConfig>({
  name: "acl",
  priority: 950,
  configSchema: AclConfigSchema,
  differences: [
    {
      what: "acl refusals are compact {\"message\": ...} bodies without Kong's request_id template; a client's own X-Consumer-Groups is always removed",
      readme: "`acl` (priority 950)",
    },
  ],
  noConsumerScope: true,
  entities: [aclEntity],
  check: checkAclConfig,
  create: (config, state) => createAclInstance(config, groupsByConsumer(state)),
});
