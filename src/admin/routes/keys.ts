// The gateway keystore: POST generates a key pair from `{alg, kid?}`; reads return the public
// half only (see `present`); PATCH changes status, retire_after and tags. No PUT: key
// material is never supplied through this API.
import { generateKeyRecord } from "../../keystore/generate.ts";
import { assertSchema, now } from "../../model/common.ts";
import { KeyInput, KeyUpdate } from "../../model/key.ts";
import { entityOperations, present } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { json } from "../http.ts";
import { ref } from "../openapi.ts";
import type { Operation } from "../operation.ts";
import { coerceToSchema } from "../body.ts";

export function keyOperations({ store }: AdminDeps): Operation[] {
  const crud = entityOperations(store, {
    kind: "keys",
    tag: "keys",
    noun: "key",
    nouns: "keys",
    stem: "Key",
    stems: "Keys",
    collection: "/keys",
    item: "/keys/:key",
    methods: ["list", "get", "delete"],
    schemas: { input: "KeyInput", update: "KeyUpdate", output: "Key", inputSchema: KeyInput },
    examples: {},
    deleteDescription: "Deletes the key pair: tokens it signed no longer verify against the gateway's JWKS. Retire a key (PATCH) to phase it out instead.",
  });
  return [
    ...crud,
    {
      method: "POST",
      path: "/keys",
      operationId: "createKey",
      tag: "keys",
      summary: "Generate a signing key",
      description: "Generates a key pair for `alg` and stores it. The response carries the public JWK only; the private half never leaves the gateway.",
      write: true,
      body: {
        kind: "entity",
        schema: "KeyInput",
        examples: [{ summary: "an ES256 key with a chosen kid", value: { alg: "ES256", kid: "signing-2026-11" } }],
        fromForm: (fields) => coerceToSchema(KeyInput, fields),
      },
      responses: { 201: { description: "the generated key (public part)", schema: ref("Key") } },
      errors: [409],
      handle: ({ body }) => json(201, present("keys", store.insert("keys", generateKeyRecord(body)))),
    },
    {
      method: "PATCH",
      path: "/keys/:key",
      operationId: "updateKey",
      tag: "keys",
      summary: "Retire a key, or change when it stops being published",
      write: true,
      body: {
        kind: "entity",
        schema: "KeyUpdate",
        examples: [{ summary: "retire the key; publish it until tokens it signed have expired", value: { status: "retired", retire_after: 1795000000 } }],
        fromForm: (fields) => coerceToSchema(KeyUpdate, fields),
      },
      responses: { 200: { description: "the key after the change (public part)", schema: ref("Key") } },
      handle: ({ params, body }) => {
        const existing = store.get("keys", params.key!);
        assertSchema(KeyUpdate, body);
        return json(200, present("keys", store.replaceRow("keys", { ...existing, ...body, updated_at: now() })));
      },
    },
  ];
}
