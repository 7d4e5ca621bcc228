// The acl plugin's entity, `acls` (Kong's daos.lua): a consumer's membership of a group, which
// the acl plugin allows or denies.
import { type RecordOf, defineEntity, reference } from "../../src/entities/definition.ts";
import { t } from "../../src/entities/t.ts";

const EXAMPLE_ACL_ID = "7d1e6c9a-2b3c-4d5e-8f60-718293a4b5c6";

export const aclEntity = defineEntity({
  name: "acls",
  label: "acl",
  schemaName: "Acl",
  fields: {
    consumer: reference("consumers", { onDelete: "cascade" }),
    group: {
      storage: "text",
      input: t.String({ minLength: 1, maxLength: 256, pattern: "^[^,]+$", description: "group name (no commas: groups are sent comma-joined)" }),
      output: t.String(),
      required: true,
      endpointKey: true,
    },
  },
  uniques: [["consumer", "group"]],
  inputExamples: [{ group: "finance" }],
  example: { id: EXAMPLE_ACL_ID, consumer: { id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b" }, group: "finance", tags: [], created_at: 1795000000, updated_at: 1795000000 },
  declarative: {
    nestedUnder: ["consumers"],
    idSeed: (entry, refs) => `acls:${refs.consumer}:${String(entry.group)}`,
    uniques: (acl) => [["consumer+group", `${acl.consumer.id}/${acl.group}`]],
  },
  admin: {
    tag: "acls",
    tagDescription: "ACL group memberships of consumers",
    noun: "ACL entry",
    nouns: "ACL entries",
    param: { name: "acl", description: "id or group of the consumer's ACL entry", example: "finance" },
    collections: [
      {
        under: "consumers",
        path: "acls",
        stem: "ConsumerAcl",
        stems: "ConsumerAcls",
        itemParam: "acl",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "put the consumer in a group", value: { group: "finance" } }],
          upsert: [{ summary: "create or replace by group name (from the URL)", value: { tags: ["quarterly-review"] } }],
          update: [{ summary: "new tags", value: { tags: ["audited"] } }],
        },
      },
      // By id only here: a group name is unique per consumer, not overall.
      {
        path: "/acls",
        stem: "Acl",
        stems: "Acls",
        itemParam: "acl_id",
        idOnly: true,
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a group membership of a consumer named in the body", value: { consumer: { username: "reporting-app" }, group: "reporting" } }],
          upsert: [{ summary: "create or replace by id", value: { consumer: { username: "reporting-app" }, group: "billing" } }],
          update: [{ summary: "rename the group", value: { group: "billing-readers" } }],
        },
      },
    ],
    referenceLinks: [{ field: "consumer", collection: "/acls", summary: "Get the consumer of an ACL entry", description: "the entry's consumer" }],
  },
  cli: {
    nouns: "acl entries",
    columns: [
      { header: "GROUP", value: (a) => a.group },
      { header: "CONSUMER_ID", value: (a) => a.consumer.id },
      { header: "ID", value: (a) => a.id },
    ],
  },
});

export type Acl = RecordOf<typeof aclEntity.fields>;

declare module "../../src/entities/index.ts" {
  interface EntityRecords {
    acls: Acl;
  }
}
