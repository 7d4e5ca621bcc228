// /consumers.
import { ConsumerInput } from "../../model/consumer.ts";
import { entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

export function consumerOperations({ store }: AdminDeps): Operation[] {
  return entityOperations(store, {
    kind: "consumers",
    tag: "consumers",
    noun: "consumer",
    nouns: "consumers",
    stem: "Consumer",
    stems: "Consumers",
    collection: "/consumers",
    item: "/consumers/:consumer",
    methods: ["list", "create", "get", "update", "upsert", "delete"],
    schemas: { input: "ConsumerInput", update: "ConsumerUpdate", output: "Consumer", inputSchema: ConsumerInput },
    examples: {
      create: [{ summary: "a consumer with a username and a custom id", value: { username: "reporting-app", custom_id: "app-42" } }],
      upsert: [{ summary: "replace the consumer (the username comes from the URL)", value: { custom_id: "app-42", tags: ["reporting"] } }],
      update: [{ summary: "new tags", value: { tags: ["reporting", "batch"] } }],
    },
    deleteDescription: "Also deletes the consumer's JWT credentials, ACL entries and consumer-scoped plugins. Deleting a consumer that does not exist is a 404 (Kong answers 204).",
  });
}
