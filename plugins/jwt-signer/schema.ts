// The jwt-signer config: KrakenD `auth/signer`'s field names (SPEC §5.5). The signing key comes
// from the gateway keystore (default, asymmetric keys only), or from a JWK set kept outside:
// `jwk_file` (KrakenD's `jwk_local_path`) or `jwk_url`; HS256/384/512 sign with an `oct` key of such a set.
import { readFileSync } from "node:fs";
import type { Static } from "@sinclair/typebox";
import type { FieldErrors } from "../../src/errors.ts";
import { ALGORITHMS, isHmac } from "../../src/jose/algorithms.ts";
import { t } from "../../src/entities/t.ts";
import type { EntityLookup } from "../../src/pipeline/contract.ts";
import { parseSigningSet, signingKeyProblem } from "./keys.ts";

const SignerAlgorithm = t.Union(
  ALGORITHMS.map((alg) => t.Literal(alg)),
  { description: "RS/PS/ES/EdDSA with a keystore key or a JWK set's; HS256/384/512 with an `oct` key of a JWK set (jwk_file, jwk_local_path or jwk_url)" },
);

const nullable = <T extends Parameters<typeof t.Union>[0][number]>(schema: T, description: string) =>
  t.Optional(t.Union([schema, t.Null()], { default: null, description }));

export const SignerConfigSchema = t.Object(
  {
    alg: SignerAlgorithm,
    kid: nullable(
      t.String({ minLength: 1, maxLength: 256 }),
      "the signing key: a keystore kid, or the key of the JWK set (required with jwk_file/jwk_url); without it, the newest active keystore key of `alg` signs",
    ),
    jwk_file: nullable(t.String({ minLength: 1, maxLength: 4096 }), "a JWK set file holding the private signing key, instead of the keystore"),
    jwk_local_path: nullable(t.String({ minLength: 1, maxLength: 4096 }), "KrakenD's name for jwk_file (give one of them)"),
    jwk_url: nullable(t.String({ pattern: "^https?://", maxLength: 2048 }), "a URL serving the JWK set with the private signing key, instead of the keystore"),
    cache_duration: t.Optional(t.Integer({ minimum: 1, maximum: 86400, default: 300, description: "seconds a JWK set from jwk_file/jwk_url is used before it is read again (in the background)" })),
    disable_jwk_security: t.Optional(t.Boolean({ default: false, description: "allow a plain-http jwk_url (the set holds private keys)" })),
    keys_to_sign: t.Array(t.String({ minLength: 1, maxLength: 256 }), { minItems: 1, maxItems: 64, uniqueItems: true, description: "top-level keys of the upstream's JSON response whose object values are replaced by a JWS" }),
    full: t.Optional(t.Boolean({ default: false, description: "flattened JWS JSON serialization instead of a compact JWS" })),
  },
  {
    additionalProperties: false,
    examples: [
      { alg: "ES256", keys_to_sign: ["access_token", "refresh_token"] },
      { alg: "RS256", kid: "signing-2026-11", keys_to_sign: ["access_token"], full: true },
    ],
  },
);

export type SignerConfig = Required<Static<typeof SignerConfigSchema>>;

/** The JWK set file of a config: `jwk_file`, or KrakenD's name for it, `jwk_local_path`. */
export function jwkFileOf(config: SignerConfig): string | null {
  return config.jwk_file ?? config.jwk_local_path;
}

export function checkSignerConfig(config: SignerConfig, lookup: EntityLookup): FieldErrors | undefined {
  const fields: FieldErrors = {};
  if (config.jwk_file !== null && config.jwk_local_path !== null) fields.jwk_local_path = "KrakenD's name for jwk_file: give one of them, not both";
  const file = jwkFileOf(config);
  if (file !== null && config.jwk_url !== null) fields.jwk_url = `give ${config.jwk_file !== null ? "jwk_file" : "jwk_local_path"} or jwk_url, not both`;
  const external = file !== null || config.jwk_url !== null;
  if (external && config.kid === null) fields.kid = "required with jwk_file or jwk_url: names the key of the set that signs";
  if (config.jwk_url?.startsWith("http:") && !config.disable_jwk_security) {
    fields.jwk_url = "must be https: the set holds private keys (set disable_jwk_security to allow http)";
  }
  if (!external && isHmac(config.alg)) {
    fields.alg = `${config.alg} signs with an "oct" key of a JWK set: give jwk_file (or jwk_local_path) or jwk_url, and kid; the keystore holds asymmetric keys only`;
  } else if (!external && config.kid !== null) {
    const key = lookup.findKey(config.kid);
    if (!key) fields.kid = `no key '${config.kid}' in the keystore`;
    else if (key.alg !== config.alg) fields.alg = `keystore key '${config.kid}' is an ${key.alg} key`;
  }
  // A file that can be read now is checked now; one that cannot (not deployed yet) is checked
  // when the plugin signs, and the reason is logged then.
  if (file !== null && config.kid !== null && !fields.kid && !fields.jwk_url && !fields.jwk_local_path) {
    let text: string | undefined;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      text = undefined;
    }
    if (text !== undefined) {
      const field = config.jwk_file !== null ? "jwk_file" : "jwk_local_path";
      try {
        const problem = signingKeyProblem(parseSigningSet(text), config.kid, config.alg, file);
        if (problem) fields[/ is for | needs /.test(problem) ? "alg" : "kid"] = problem;
      } catch (error) {
        fields[field] = `${file}: ${(error as Error).message}`;
      }
    }
  }
  return Object.keys(fields).length ? fields : undefined;
}
