// `gateway consumer add|list|get|delete`.
import { commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";

const base = { group: "consumer", kind: "consumers", noun: "consumer" } as const;

export const consumerCommand = commandGroup("consumer", "manage consumers (the identities credentials belong to)", "Consumers on the database file or a running gateway's admin API.", [
  addCommand({
    ...base,
    summary: "create a consumer",
    synopsis: "--username NAME [--custom-id ID] [--tag TAG ...]",
    options: `  --username NAME        unique name (Kong's username)
  --custom-id ID         unique id from another system (at least one of the two)
  --tag TAG              a tag (repeatable)
`,
    flags: { username: { type: "string" }, "custom-id": { type: "string" }, tag: { type: "string", multiple: true } },
    build: (values) => {
      if (values.username === undefined && values["custom-id"] === undefined) required(undefined, "--username", "the consumer's name (or give --custom-id)");
      return { input: { username: values.username, custom_id: values["custom-id"], tags: tagsOf(values) } };
    },
  }),
  listCommand({
    ...base,
    nouns: "consumers",
  }),
  getCommand({ ...base, keyLabel: "USERNAME|ID" }),
  deleteCommand({ ...base, keyLabel: "USERNAME|ID", description: "Its jwt credentials and ACL entries go with it." }),
]);
