// `gateway jwt add|list|get|delete`: a consumer's JWT credentials (Kong's jwt_secrets).
import { UsageError } from "../errors.ts";
import { commandGroup, required } from "./command.ts";
import { addCommand, deleteCommand, getCommand, listCommand, tagsOf } from "./entity-commands.ts";
import { type Algorithm, algorithmsForKey, parseAlgorithm, publicPemFromFile } from "./key-files.ts";

const base = { group: "jwt", kind: "jwt_secrets", noun: "jwt credential" } as const;

/** Reads --public-key; a private key file gives its public half (with a note). */
export function publicKeyFlag(path: string, flag: string): { pem: string; defaultAlgorithm: Algorithm } {
  const { pem, key, wasPrivate } = publicPemFromFile(path, flag);
  if (wasPrivate) process.stderr.write(`note: ${path} holds a private key; only its public half is stored\n`);
  const algorithms = algorithmsForKey(key);
  return { pem, defaultAlgorithm: algorithms[0]! };
}

export const jwtCommand = commandGroup("jwt", "manage jwt credentials of consumers", "JWT credentials (Kong's jwt_secrets): each one is a signer the gateway trusts for a consumer,\nfound by the token's key claim (iss by default).", [
  addCommand({
    ...base,
    summary: "add a jwt credential to a consumer",
    synopsis: "--consumer USERNAME|ID [--algorithm ALG] [--key KEY] [--secret S | --public-key FILE | --jwks-uri URL]",
    options: `  --consumer C           the consumer (username or id)
  --algorithm ALG        HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 or EdDSA;
                         default: the public key's (by curve; RS256 for RSA), else HS256
  --key KEY              what the token's key claim (iss) must equal (default: generated)
  --secret S             HMAC secret (HS*; default: 32 generated characters)
  --public-key FILE      PEM public key, certificate or JWK (a private key file gives its
                         public half; only that is stored)
  --jwks-uri URL         take keys from a JWKS (http(s) or file:) by the token's kid
  --tag TAG              a tag (repeatable)
`,
    flags: {
      consumer: { type: "string" },
      algorithm: { type: "string" },
      key: { type: "string" },
      secret: { type: "string" },
      "public-key": { type: "string" },
      "jwks-uri": { type: "string" },
      tag: { type: "string", multiple: true },
    },
    build: (values) => {
      const consumer = required(values.consumer as string | undefined, "--consumer", "the consumer the credential belongs to");
      const given = values.algorithm === undefined ? undefined : parseAlgorithm(values.algorithm as string, "--algorithm");
      const publicKey = values["public-key"] === undefined ? undefined : publicKeyFlag(values["public-key"] as string, "--public-key");
      if (values["jwks-uri"] !== undefined && given === undefined) throw new UsageError("--algorithm is required with --jwks-uri");
      return {
        consumer,
        input: {
          key: values.key,
          algorithm: given ?? publicKey?.defaultAlgorithm,
          secret: values.secret,
          rsa_public_key: publicKey?.pem,
          jwks_uri: values["jwks-uri"],
          tags: tagsOf(values),
        },
      };
    },
  }),
  listCommand({
    ...base,
    nouns: "jwt credentials",
    byConsumer: true,
  }),
  getCommand({ ...base, keyLabel: "KEY|ID", byConsumer: true }),
  deleteCommand({ ...base, keyLabel: "KEY|ID", byConsumer: "optional" }),
]);
