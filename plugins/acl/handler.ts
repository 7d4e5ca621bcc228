// The acl plugin's access phase: Kong's decision rules (reference §5) on the consumer's ACL
// rows or the request's authenticated groups, with the 401 (nobody identified) / 403
// (identified, not allowed) split. Client-sent group headers are always removed, which Kong
// does not do.
import type { Acl } from "./entity.ts";
import type { AccessResult, PluginInstance, RequestContext, StateLookups } from "../../src/pipeline/contract.ts";
import { toHeaderValue } from "../../src/pipeline/request-context.ts";
import { messageResponse } from "../../src/proxy/responses.ts";
import type { AclConfig } from "./schema.ts";

const CONSUMER_GROUPS = "x-consumer-groups";
const AUTHENTICATED_GROUPS = "x-authenticated-groups";
const NO_GROUPS: readonly string[] = [];

/** The acl plugin's refusals, defined once: status, Kong's message, and the code metrics count. */
const REFUSALS = {
  401: { code: "acl:unauthenticated", message: "Unauthorized" },
  403: { code: "acl:forbidden", message: "You cannot consume this service" },
} as const;

function refuse(ctx: RequestContext, status: 401 | 403): Response {
  const { code, message } = REFUSALS[status];
  ctx.authFailureMetric = code;
  return messageResponse(status, message);
}

/** Groups per consumer id, in stored order. */
export type GroupsByConsumer = ReadonlyMap<string, readonly string[]>;
const groupsOfVersion = new WeakMap<StateLookups, GroupsByConsumer>();

/** The ACL groups of every consumer, built once per configuration version for all acl instances. */
export function groupsByConsumer(state: StateLookups): GroupsByConsumer {
  let groups = groupsOfVersion.get(state);
  if (!groups) {
    const built = new Map<string, string[]>();
    for (const acl of state.rows<Acl>("acls")) {
      const list = built.get(acl.consumer.id);
      if (list) list.push(acl.group);
      else built.set(acl.consumer.id, [acl.group]);
    }
    groupsOfVersion.set(state, (groups = built));
  }
  return groups;
}

export function createAclInstance(config: AclConfig, aclGroups: GroupsByConsumer): PluginInstance {
  const denyMode = config.deny !== null;
  const listed: ReadonlySet<string> = new Set(config.deny ?? config.allow ?? []);
  // Header text per group list: ACL rows are the snapshot's arrays, stable for this instance.
  const headerText = new WeakMap<readonly string[], string | null>();
  const textOf = (groups: readonly string[]) => {
    let text = headerText.get(groups);
    if (text === undefined) headerText.set(groups, (text = toHeaderValue(groups.join(", "))));
    return text;
  };

  return {
    access(ctx: RequestContext): AccessResult {
      const headers = ctx.upstreamHeaders;
      // After an authentication plugin cleared the client's identity headers, only this plugin
      // sets the group headers, so there is nothing left to delete.
      if (!ctx.identityHeadersCleared) {
        headers.delete(CONSUMER_GROUPS);
        headers.delete(AUTHENTICATED_GROUPS);
      }
      const consumerId = ctx.consumer?.id ?? ctx.credential?.consumerId ?? null;
      const authenticated = ctx.authenticatedGroups?.length ? ctx.authenticatedGroups : null;
      let groups: readonly string[];
      let header: string;
      if (consumerId === null) {
        if (!authenticated) return refuse(ctx, ctx.credential ? 403 : 401);
        [groups, header] = [authenticated, AUTHENTICATED_GROUPS];
      } else if (authenticated && (!ctx.credential || config.always_use_authenticated_groups)) {
        [groups, header] = [authenticated, AUTHENTICATED_GROUPS];
      } else {
        const rows = aclGroups.get(consumerId);
        if (rows?.length) [groups, header] = [rows, CONSUMER_GROUPS];
        // Beyond Kong: a consumer without ACL rows is judged on its token's groups, if any.
        else if (authenticated) [groups, header] = [authenticated, AUTHENTICATED_GROUPS];
        else if (denyMode) [groups, header] = [NO_GROUPS, CONSUMER_GROUPS];
        else return refuse(ctx, ctx.credential ? 403 : 401);
      }
      let member = false;
      for (const group of groups) {
        if (listed.has(group)) {
          member = true;
          break;
        }
      }
      if (member === denyMode) return refuse(ctx, 403);
      if (!config.hide_groups_header) {
        const text = textOf(groups);
        if (text !== null) headers.set(header, text);
      }
      return undefined;
    },
  };
}
