// Consumer: a client identity that credentials, ACL groups and consumer-scoped plugins hang off.
import { type RecordOf, defineEntity, nullable } from "./definition.ts";
import { t } from "./t.ts";

const Identifier = t.String({ minLength: 1, maxLength: 256 });

export const consumerEntity = defineEntity({
  name: "consumers",
  label: "consumer",
  schemaName: "Consumer",
  fields: {
    username: { storage: "text", input: Identifier, output: nullable(t.String()), unique: true, endpointKey: true },
    custom_id: { storage: "text", input: Identifier, output: nullable(t.String()), unique: true, endpointKey: true },
  },
  inputExamples: [{ username: "reporting-app", custom_id: "app-42" }],
  example: { id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", username: "reporting-app", custom_id: "app-42", tags: [], created_at: 1795000000, updated_at: 1795000000 },
  complete(consumer, { fields }) {
    if (consumer.username === null && consumer.custom_id === null) fields["@entity"] = "at least one of username or custom_id must be set";
  },
  declarative: { idSeed: (entry, _refs, position) => `consumers:${entry.username ?? entry.custom_id ?? position}` },
  admin: {
    tag: "consumers",
    tagDescription: "Client identities",
    noun: "consumer",
    nouns: "consumers",
    param: { name: "consumer", description: "id, username or custom_id of the consumer", example: "reporting-app" },
    collections: [
      {
        path: "/consumers",
        stem: "Consumer",
        stems: "Consumers",
        itemParam: "consumer",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a consumer with a username and a custom id", value: { username: "reporting-app", custom_id: "app-42" } }],
          upsert: [{ summary: "replace the consumer (the username comes from the URL)", value: { custom_id: "app-42", tags: ["reporting"] } }],
          update: [{ summary: "new tags", value: { tags: ["reporting", "batch"] } }],
        },
      },
    ],
    delete: { description: "Also deletes the consumer's JWT credentials, ACL entries and consumer-scoped plugins. Deleting a consumer that does not exist is a 404 (Kong answers 204)." },
  },
  cli: {
    columns: [
      { header: "USERNAME", value: (c) => c.username },
      { header: "CUSTOM_ID", value: (c) => c.custom_id },
      { header: "ID", value: (c) => c.id },
      { header: "TAGS", value: (c) => c.tags },
    ],
  },
});

export type Consumer = RecordOf<typeof consumerEntity.fields>;
