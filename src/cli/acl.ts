// `gateway acl add|list|delete`: consumers' group memberships, which the acl plugin checks.
import { commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "acl", kind: "acls", noun: "acl entry" } as const;

export const aclCommand = commandGroup("acl", "manage consumers' ACL groups", "ACL groups of consumers: the acl plugin allows or denies requests by them.", [
  addCommand({
    ...base,
    summary: "put a consumer in a group",
    synopsis: "--consumer USERNAME|ID --group GROUP [--tag TAG ...]",
    options: `  --consumer C           the consumer (username or id)
  --group GROUP          the group
  --tag TAG              a tag (repeatable)
`,
    flags: { consumer: { type: "string" }, group: { type: "string" }, tag: { type: "string", multiple: true } },
    build: (values) => ({
      consumer: required(values.consumer as string | undefined, "--consumer", "the consumer to put in the group"),
      input: { group: required(values.group as string | undefined, "--group", "the group name"), tags: tagsOf(values) },
    }),
  }),
  listCommand({
    ...base,
    nouns: "acl entries",
    byConsumer: true,
  }),
  deleteCommand({ ...base, keyLabel: "GROUP", keyFlag: "group", byConsumer: "required", description: "Takes the consumer out of the group." }),
]);
