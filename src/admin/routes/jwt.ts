// JWT credentials: /consumers/{consumer}/jwt[/{jwt}] and Kong's top-level /jwts[/{jwt}].
import { JwtCredentialInput } from "../../model/jwt-credential.ts";
import { type EntityEndpoints, entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { EXAMPLE_ES256_PUBLIC_KEY } from "../examples.ts";
import { json } from "../http.ts";
import { ref } from "../openapi.ts";
import type { Operation } from "../operation.ts";

const common = {
  kind: "jwt_secrets",
  tag: "jwt",
  noun: "JWT credential",
  nouns: "JWT credentials",
  methods: ["list", "create", "get", "update", "upsert", "delete"],
  schemas: { input: "JwtCredentialInput", update: "JwtCredentialUpdate", output: "JwtCredential", inputSchema: JwtCredentialInput },
} satisfies Partial<EntityEndpoints<"jwt_secrets">>;

export function jwtOperations({ store }: AdminDeps): Operation[] {
  return [
    ...entityOperations(store, {
      ...common,
      stem: "ConsumerJwt",
      stems: "ConsumerJwts",
      collection: "/consumers/:consumer/jwt",
      item: "/consumers/:consumer/jwt/:jwt",
      parent: { kind: "consumers", param: "consumer" },
      examples: {
        create: [
          { summary: "an HS256 credential (omit `key` and `secret` to have them generated)", value: { key: "reporting-app-hs256", algorithm: "HS256", secret: "a-very-long-shared-secret-value-1234" } },
        ],
        upsert: [{ summary: "replace the credential (the key comes from the URL)", value: { algorithm: "HS384", secret: "another-very-long-shared-secret-5678" } }],
        update: [{ summary: "accept tokens signed with HS384 or HS512", value: { algorithm: "HS384", algorithms: ["HS384", "HS512"] } }],
      },
    }),
    ...entityOperations(store, {
      ...common,
      stem: "Jwt",
      stems: "Jwts",
      collection: "/jwts",
      item: "/jwts/:jwt",
      examples: {
        create: [
          {
            summary: "an ES256 credential of a consumer named in the body",
            value: { consumer: { username: "reporting-app" }, key: "reporting-app-es256", algorithm: "ES256", rsa_public_key: EXAMPLE_ES256_PUBLIC_KEY },
          },
        ],
        upsert: [{ summary: "replace a credential", value: { consumer: { username: "reporting-app" }, algorithm: "HS256", secret: "a-third-very-long-shared-secret-9012" } }],
        update: [{ summary: "new tags", value: { tags: ["rotated-2026-11"] } }],
      },
    }),
    {
      method: "GET",
      path: "/jwts/:jwt/consumer",
      operationId: "getJwtConsumer",
      tag: "jwt",
      summary: "Get the consumer of a JWT credential",
      responses: { 200: { description: "the credential's consumer", schema: ref("Consumer") } },
      handle: ({ params }) => json(200, store.get("consumers", store.get("jwt_secrets", params.jwt!).consumer.id)),
    },
  ];
}
