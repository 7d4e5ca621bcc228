// ACL entries: /consumers/{consumer}/acls[/{id|group}] and Kong's top-level /acls[/{id}]
// (by id only there: a group name is unique per consumer, not overall).
import { AclInput } from "../../model/acl.ts";
import { type EntityEndpoints, entityOperations, idOnly } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { json } from "../http.ts";
import { ref } from "../openapi.ts";
import type { Operation } from "../operation.ts";

const common = {
  kind: "acls",
  tag: "acls",
  noun: "ACL entry",
  nouns: "ACL entries",
  methods: ["list", "create", "get", "update", "upsert", "delete"],
  schemas: { input: "AclInput", update: "AclUpdate", output: "Acl", inputSchema: AclInput },
} satisfies Partial<EntityEndpoints<"acls">>;

export function aclOperations({ store }: AdminDeps): Operation[] {
  return [
    ...entityOperations(store, {
      ...common,
      stem: "ConsumerAcl",
      stems: "ConsumerAcls",
      collection: "/consumers/:consumer/acls",
      item: "/consumers/:consumer/acls/:acl",
      parent: { kind: "consumers", param: "consumer" },
      examples: {
        create: [{ summary: "put the consumer in a group", value: { group: "finance" } }],
        upsert: [{ summary: "create or replace by group name (from the URL)", value: { tags: ["quarterly-review"] } }],
        update: [{ summary: "new tags", value: { tags: ["audited"] } }],
      },
    }),
    ...entityOperations(store, {
      ...common,
      stem: "Acl",
      stems: "Acls",
      collection: "/acls",
      item: "/acls/:acl_id",
      idOnly: true,
      examples: {
        create: [{ summary: "a group membership of a consumer named in the body", value: { consumer: { username: "reporting-app" }, group: "reporting" } }],
        upsert: [{ summary: "create or replace by id", value: { consumer: { username: "reporting-app" }, group: "billing" } }],
        update: [{ summary: "rename the group", value: { group: "billing-readers" } }],
      },
    }),
    {
      method: "GET",
      path: "/acls/:acl_id/consumer",
      operationId: "getAclConsumer",
      tag: "acls",
      summary: "Get the consumer of an ACL entry",
      responses: { 200: { description: "the entry's consumer", schema: ref("Consumer") } },
      handle: ({ params }) => json(200, store.get("consumers", store.get("acls", idOnly("ACL entry", params.acl_id!)).consumer.id)),
    },
  ];
}
