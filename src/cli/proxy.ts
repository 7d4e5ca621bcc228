// `gateway proxy adduser|deluser|jwt`: EdgeX's `secrets-config proxy` commands with EdgeX's flag
// names and output, so its tutorials and scripts run with the binary name changed. Go's flag
// package also takes `-flag` with one dash; so does this.
import { GatewayError, UsageError } from "../errors.ts";
import { now } from "../entities/common.ts";
import { type Command, commandGroup, helpRequested, parseFlags, required } from "./command.ts";
import { parseGoDuration } from "./durations.ts";
import { BACKEND_FLAGS, BACKEND_USAGE, findEntity, openEntityClient } from "./entity-client.ts";
import { publicKeyFlag } from "./jwt.ts";
import { type Algorithm, checkKeyFits, isHmac, parseAlgorithm, signingKeyFromFile } from "./key-files.ts";
import { signToken } from "./tokens.ts";

/** Go-style `-name value` / `-name=value` → `--name ...` for the flags a command knows. */
function goStyle(argv: string[], names: string[]): string[] {
  return argv.map((arg) => {
    const match = /^-([A-Za-z][\w-]+)(=.*)?$/.exec(arg);
    return match && names.includes(match[1]!) ? `-${arg}` : arg;
  });
}

function asymmetric(text: string, flag: string): Algorithm {
  const alg = parseAlgorithm(text, flag);
  if (isHmac(alg)) throw new UsageError(`${flag}: expected an asymmetric algorithm (ES256, RS256, ...), got ${alg}`);
  return alg;
}

const adduserUsage = `Usage: gateway proxy adduser --token-type jwt --user NAME --algorithm ES256|RS256 --public_key FILE
                             [--id ID] [--group GROUP] [--jwt ADMIN_TOKEN]

EdgeX's adduser: creates the consumer NAME (an existing one is fine), puts it in GROUP (already
a member is fine), and adds a jwt credential with the public key and key = ID (generated when
absent; the token's iss must equal it). Prints the credential key. A duplicate ID is an error.

  --token-type jwt       the only type (default jwt)
  --user NAME            consumer username
  --algorithm ALG        ES256 or RS256 as in EdgeX (any asymmetric algorithm is accepted)
  --public_key FILE      PEM public key (a private key file gives its public half)
  --id ID                credential key (default: 32 random characters)
  --group GROUP          ACL group (default gateway-group)
  --jwt ADMIN_TOKEN      EdgeX's Kong admin JWT: here the admin API token (as --admin-token)

${BACKEND_USAGE}`;

const adduser: Command = {
  name: "adduser",
  summary: "add a user with a public key (EdgeX secrets-config proxy adduser)",
  usage: adduserUsage,
  async run(argv) {
    const flags = {
      "token-type": { type: "string" },
      user: { type: "string" },
      algorithm: { type: "string" },
      public_key: { type: "string" },
      id: { type: "string" },
      group: { type: "string" },
      jwt: { type: "string" },
      ...BACKEND_FLAGS,
    } as const;
    const { values } = parseFlags(goStyle(argv, [...Object.keys(flags), "help"]), flags);
    if (helpRequested(values, adduserUsage)) return 0;
    const tokenType = values["token-type"] ?? "jwt";
    if (tokenType !== "jwt") throw new UsageError(`--token-type: only jwt is supported, got '${tokenType}'`);
    const user = required(values.user, "--user", "the username to add");
    const alg = asymmetric(required(values.algorithm, "--algorithm", "ES256 or RS256"), "--algorithm");
    const { pem } = publicKeyFlag(required(values.public_key, "--public_key", "the user's PEM public key file"), "--public_key");
    const group = values.group ?? "gateway-group";
    if (values.jwt !== undefined && values["admin-token"] !== undefined) throw new UsageError("--jwt and --admin-token: give one of them, not both");

    const client = openEntityClient({ ...values, "admin-token": values["admin-token"] ?? values.jwt }, { write: true });
    try {
      const consumer = (await findEntity(client, "consumers", user)) ?? (await client.create("consumers", { username: user }));
      const groups = await client.list("acls", consumer.id);
      if (!groups.some((acl) => acl.group === group)) await client.create("acls", { group }, consumer.id);
      const input: Record<string, unknown> = { algorithm: alg, rsa_public_key: pem };
      if (values.id !== undefined) input.key = values.id;
      let credential;
      try {
        credential = await client.create("jwt_secrets", input, consumer.id);
      } catch (error) {
        if (error instanceof GatewayError && error.status === 409) throw new Error(`a jwt credential with id (key) '${values.id ?? ""}' already exists`);
        throw error;
      }
      process.stdout.write(`${credential.key}\n`);
    } finally {
      client.close();
    }
    return 0;
  },
};

const deluserUsage = `Usage: gateway proxy deluser --user NAME [--jwt ADMIN_TOKEN]

EdgeX's deluser: deletes the consumer and with it its credentials and ACL groups. A user that
does not exist is not an error (Kong answered 204), only noted on stderr.

  --user NAME            consumer username
  --jwt ADMIN_TOKEN      the admin API token (as --admin-token)

${BACKEND_USAGE}`;

const deluser: Command = {
  name: "deluser",
  summary: "delete a user (EdgeX secrets-config proxy deluser)",
  usage: deluserUsage,
  async run(argv) {
    const flags = { user: { type: "string" }, jwt: { type: "string" }, ...BACKEND_FLAGS } as const;
    const { values } = parseFlags(goStyle(argv, [...Object.keys(flags), "help"]), flags);
    if (helpRequested(values, deluserUsage)) return 0;
    const user = required(values.user, "--user", "the username to delete");
    if (values.jwt !== undefined && values["admin-token"] !== undefined) throw new UsageError("--jwt and --admin-token: give one of them, not both");
    const client = openEntityClient({ ...values, "admin-token": values["admin-token"] ?? values.jwt }, { write: true });
    try {
      await client.delete("consumers", user);
    } catch (error) {
      if (!(error instanceof GatewayError && error.status === 404)) throw error;
      process.stderr.write(`note: no user '${user}'; nothing to delete\n`);
    } finally {
      client.close();
    }
    return 0;
  },
};

const jwtUsage = `Usage: gateway proxy jwt --id ID --algorithm ES256|RS256 --private_key FILE [--expiration DURATION]

EdgeX's jwt: prints a token with exactly iss = ID, iat = nbf = now, exp = now + DURATION
(Go syntax: 1h, 90m, 1h30m; default 1h), signed with the private key; no kid header.

  --id ID                the credential key given to adduser
  --algorithm ALG        ES256 or RS256 as in EdgeX (any asymmetric algorithm is accepted;
                         ES256 needs a P-256 key)
  --private_key FILE     PEM private key (PKCS#1, SEC1 or PKCS#8) or private JWK
  --expiration DURATION  lifetime (default 1h)
`;

const jwt: Command = {
  name: "jwt",
  summary: "print a token for a user (EdgeX secrets-config proxy jwt)",
  usage: jwtUsage,
  async run(argv) {
    const flags = { id: { type: "string" }, algorithm: { type: "string" }, private_key: { type: "string" }, expiration: { type: "string" } } as const;
    const { values } = parseFlags(goStyle(argv, [...Object.keys(flags), "help"]), flags);
    if (helpRequested(values, jwtUsage)) return 0;
    const id = required(values.id, "--id", "the credential key (the token's iss)");
    const alg = asymmetric(required(values.algorithm, "--algorithm", "ES256 or RS256"), "--algorithm");
    const path = required(values.private_key, "--private_key", "the PEM private key file");
    const lifetime = parseGoDuration(values.expiration ?? "1h", "--expiration");
    const key = signingKeyFromFile(path, alg, "--private_key");
    checkKeyFits(key, alg, `--private_key ${path}`);
    const iat = now();
    process.stdout.write(`${await signToken({ iss: id, iat, nbf: iat, exp: iat + lifetime }, alg, key)}\n`);
    return 0;
  },
};

export const proxyCommand = commandGroup(
  "proxy",
  "EdgeX-compatible user and token commands (adduser, deluser, jwt)",
  "EdgeX's secrets-config proxy commands, with EdgeX's flag names (one or two dashes).",
  [adduser, deluser, jwt],
);
