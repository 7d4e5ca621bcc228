// The gateway keystore: POST generates a key pair from `{alg, kid?}`; reads return the public
// half only (the key entity's private field); PATCH changes status, retire_after and tags. No
// PUT: key material is never supplied through this API.
import { assertSchema, now } from "../../entities/common.ts";
import { keyEntity } from "../../entities/key.ts";
import { generateKeyRecord } from "../../keystore/generate.ts";
import { coerceToSchema } from "../body.ts";
import { documented, entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { json } from "../http.ts";
import { ref } from "../openapi.ts";
import type { Operation } from "../operation.ts";

export function keyOperations({ store }: AdminDeps): Operation[] {
  const crud = entityOperations(store, keyEntity, {
    path: "/keys",
    stem: "Key",
    stems: "Keys",
    itemParam: "key",
    methods: ["list", "get", "delete"],
    examples: {},
  });
  return documented(store.entities, [
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
        fromForm: (fields) => coerceToSchema(keyEntity.input, fields),
      },
      responses: { 201: { description: "the generated key (public part)", schema: ref("Key") } },
      errors: [409],
      handle: ({ body }) => json(201, keyEntity.present(store.insert("keys", generateKeyRecord(body)))),
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
        fromForm: (fields) => coerceToSchema(keyEntity.update, fields),
      },
      responses: { 200: { description: "the key after the change (public part)", schema: ref("Key") } },
      handle: ({ params, body }) => {
        const existing = store.get("keys", params.key!);
        assertSchema(keyEntity.update, body);
        return json(200, keyEntity.present(store.replaceRow("keys", { ...existing, ...body, updated_at: now() })));
      },
    },
  ]);
}
