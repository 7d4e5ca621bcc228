// The basic-auth plugin's entity, `basicauth_credentials` (Kong's daos.lua): a username and
// password of a consumer. The password is stored only as an argon2id hash (Bun.password), never
// returned: reads, lists and the CLI show neither it nor the hash; exports carry `password_hash`,
// which a declarative file or a write may give instead of `password`.
import { type RecordOf, defineEntity, reference } from "../../src/entities/definition.ts";
import { t } from "../../src/entities/t.ts";

/** A PHC string of argon2id or bcrypt, what Bun.password.verify accepts. */
const HASH = "^\\$(argon2id|argon2i|argon2d|2[aby])\\$[!-~]{20,512}$";

export function hashPassword(password: string): string {
  return Bun.password.hashSync(password, { algorithm: "argon2id" });
}

const definition = defineEntity({
  name: "basicauth_credentials",
  label: "basic-auth credential",
  schemaName: "BasicAuthCredential",
  fields: {
    consumer: reference("consumers", { onDelete: "cascade", index: true }),
    username: {
      storage: "text",
      input: t.String({ minLength: 1, maxLength: 256, pattern: "^[^:]+$", description: "the user name of the Authorization header (no `:`)" }),
      output: t.String(),
      required: true,
      unique: true,
      endpointKey: true,
    },
    // Input only: hashed by `complete`.
    password: { input: t.String({ minLength: 1, maxLength: 1024, description: "stored only as an argon2id hash, never returned" }) },
    password_hash: {
      storage: "text",
      input: t.String({ pattern: HASH, description: "an argon2id (or bcrypt) PHC hash, what exports carry, instead of `password`" }),
      nullable: false,
    },
  },
  inputExamples: [{ username: "reporting-app", password: "a-long-random-password" }],
  example: { id: "1f2e3d4c-5b6a-4789-8a9b-0c1d2e3f4a5b", consumer: { id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b" }, username: "reporting-app", tags: [], created_at: 1795000000, updated_at: 1795000000 },
  complete(credential, { input, existing, fields }) {
    const entity = credential as unknown as { password_hash: string | null };
    if (input.password !== undefined && input.password_hash !== undefined) fields.password = "give either password or password_hash, not both";
    else if (typeof input.password === "string") entity.password_hash = hashPassword(input.password);
    else if (input.password_hash === undefined && !existing?.["password_hash" as never]) fields.password = "required field missing";
  },
  declarative: {
    label: "basicauth_credential",
    nestedUnder: ["consumers"],
    idSeed: (entry) => `basicauth_credentials:${String(entry.username)}`,
  },
  admin: {
    tag: "basic-auth",
    tagDescription: "Usernames and passwords of consumers (`basicauth_credentials`); passwords are never returned",
    noun: "basic-auth credential",
    nouns: "basic-auth credentials",
    param: { name: "basicauth", description: "id or username of the basic-auth credential", example: "reporting-app" },
    collections: [
      {
        under: "consumers",
        path: "basic-auth",
        stem: "ConsumerBasicAuth",
        stems: "ConsumerBasicAuths",
        itemParam: "basicauth",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a username and password", value: { username: "reporting-app", password: "a-long-random-password" } }],
          upsert: [{ summary: "create or replace by username (from the URL)", value: { password: "another-long-random-password" } }],
          update: [{ summary: "change the password", value: { password: "a-rotated-long-random-password" } }],
        },
      },
      {
        path: "/basic-auths",
        stem: "BasicAuth",
        stems: "BasicAuths",
        itemParam: "basicauth",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a credential of a consumer named in the body", value: { consumer: { username: "reporting-app" }, username: "reporting-batch", password: "a-long-random-password" } }],
          upsert: [{ summary: "create or replace a credential", value: { consumer: { username: "reporting-app" }, password: "a-long-random-password" } }],
          update: [{ summary: "new tags", value: { tags: ["rotated-2026-11"] } }],
        },
      },
    ],
    referenceLinks: [{ field: "consumer", collection: "/basic-auths", summary: "Get the consumer of a basic-auth credential", description: "the credential's consumer" }],
  },
  cli: {
    nouns: "basic-auth credentials",
    columns: [
      { header: "USERNAME", value: (c) => c.username },
      { header: "CONSUMER_ID", value: (c) => c.consumer.id },
      { header: "ID", value: (c) => c.id },
    ],
  },
});

export type BasicAuthCredential = RecordOf<typeof definition.fields> & { password_hash: string };

/** The admin API and CLI never show the hash (exports read the records, hash included). */
export const basicAuthCredentialEntity: typeof definition = {
  ...definition,
  present(record) {
    const { password_hash: _hash, ...shown } = definition.present(record) as Record<string, unknown>;
    return shown;
  },
};

declare module "../../src/entities/index.ts" {
  interface EntityRecords {
    basicauth_credentials: BasicAuthCredential;
  }
}
