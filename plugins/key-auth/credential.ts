// The key-auth plugin's entity, `keyauth_credentials` (Kong's daos.lua): an API key of a consumer.
// Only the key's SHA-256 digest is stored. The plaintext is in the response of the write that set
// (or generated) it and nowhere else: reads, lists and the CLI never show it, nor the digest;
// exports carry `key_digest`, which a declarative file or a write may give instead of `key`.
import { type RecordOf, defineEntity, reference } from "../../src/entities/definition.ts";
import { t } from "../../src/entities/t.ts";
import { randomAlphanumeric } from "../../src/entities/common.ts";

const DIGEST = /^[0-9a-f]{64}$/;

/** The stored form of a key: lower-case hex SHA-256 of its UTF-8 bytes. */
export function keyDigest(key: string): string {
  return new Bun.CryptoHasher("sha256").update(key).digest("hex");
}

const definition = defineEntity({
  name: "keyauth_credentials",
  label: "key-auth credential",
  schemaName: "KeyAuthCredential",
  fields: {
    consumer: reference("consumers", { onDelete: "cascade", index: true }),
    // Input only: turned into key_digest by `complete`, returned once by the write that set it.
    key: {
      input: t.String({ minLength: 1, maxLength: 1024, description: "the API key (default: 32 generated characters); only its SHA-256 is stored" }),
      output: t.Optional(t.String({ description: "only in the response of the write that set or generated it" })),
    },
    key_digest: {
      storage: "text",
      input: t.String({ pattern: DIGEST.source, description: "SHA-256 of the key, lower-case hex (what exports carry), instead of `key`" }),
      unique: true,
      nullable: false,
    },
  },
  inputExamples: [{ key: "a-long-random-api-key-0123456789" }, {}],
  example: {
    id: "5c2e8b1d-3f4a-4b5c-9d6e-7f8091a2b3c4", consumer: { id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b" },
    key: "Xq8ZrT2nVd6bUzAaHc9hR5qvUiFfWJm3", tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(credential, { input, existing, fields }) {
    const entity = credential as unknown as { key?: string; key_digest: string | null };
    if (input.key !== undefined && input.key_digest !== undefined) {
      fields.key = "give either key or key_digest, not both";
      return;
    }
    if (typeof input.key === "string") entity.key = input.key;
    else if (input.key_digest === undefined && !existing) entity.key = randomAlphanumeric();
    if (entity.key !== undefined) entity.key_digest = keyDigest(entity.key);
  },
  declarative: {
    label: "keyauth_credential",
    nestedUnder: ["consumers"],
    // A file's plaintext key is digested at load, so no state or export holds it.
    fill(entry) {
      if (typeof entry.key === "string" && entry.key_digest === undefined) {
        entry.key_digest = keyDigest(entry.key);
        delete entry.key;
      } else if (entry.key === undefined && entry.key_digest === undefined) {
        // A generated key nobody could read would be useless: make the file say which.
        entry.key_digest = "";
      }
    },
    idSeed: (entry) => `keyauth_credentials:${String(entry.key_digest)}`,
  },
  admin: {
    tag: "key-auth",
    tagDescription: "API keys of consumers (`keyauth_credentials`); a key is shown only by the write that sets it",
    noun: "key-auth credential",
    nouns: "key-auth credentials",
    param: { name: "keyauth", description: "id of the key-auth credential", example: "5c2e8b1d-3f4a-4b5c-9d6e-7f8091a2b3c4" },
    collections: [
      // By id only: the key is not stored, and a key in a URL would end up in access logs.
      {
        under: "consumers",
        path: "key-auth",
        stem: "ConsumerKeyAuth",
        stems: "ConsumerKeyAuths",
        itemParam: "keyauth",
        idOnly: true,
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "generate a key (shown once, in this response; or give `key`)", value: {} }],
          upsert: [{ summary: "replace the credential with a new key", value: { key: "another-long-random-api-key-9876" } }],
          update: [{ summary: "rotate the key", value: { key: "a-rotated-long-random-api-key-42" } }],
        },
      },
      {
        path: "/key-auths",
        stem: "KeyAuth",
        stems: "KeyAuths",
        itemParam: "keyauth_id",
        idOnly: true,
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a key of a consumer named in the body", value: { consumer: { username: "reporting-app" } } }],
          upsert: [{ summary: "create or replace by id", value: { consumer: { username: "reporting-app" }, key: "a-long-random-api-key-0123456789" } }],
          update: [{ summary: "new tags", value: { tags: ["rotated-2026-11"] } }],
        },
      },
    ],
    referenceLinks: [{ field: "consumer", collection: "/key-auths", summary: "Get the consumer of a key-auth credential", description: "the credential's consumer" }],
  },
  cli: {
    nouns: "key-auth credentials",
    columns: [
      { header: "CONSUMER_ID", value: (c) => c.consumer.id },
      { header: "ID", value: (c) => c.id },
    ],
  },
});

/** The digest is stored but in no output schema, and kept out of every answer by `present`. */
export type KeyAuthCredential = RecordOf<typeof definition.fields> & { key_digest: string };

/** The admin API and CLI show neither key nor digest (exports read the records, digest included). */
export const keyAuthCredentialEntity: typeof definition = {
  ...definition,
  present(record) {
    const { key_digest: _digest, ...shown } = definition.present(record) as Record<string, unknown>;
    return shown;
  },
};

declare module "../../src/entities/index.ts" {
  interface EntityRecords {
    keyauth_credentials: KeyAuthCredential;
  }
}
