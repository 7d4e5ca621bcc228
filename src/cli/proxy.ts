// `gateway proxy adduser|deluser|jwt`: EdgeX's `secrets-config proxy` commands with EdgeX's flag
// names and output, so its tutorials and scripts run with the binary name changed. Go's flag
// package also takes `-flag` with one dash; so does this.
import { GatewayError, UsageError } from "../errors.ts";
import { edgexTls, edgexTlsUsage } from "./cert.ts";
import { now } from "../entities/common.ts";
import { type Command, commandGroup, helpRequested, parseFlags, required } from "./command.ts";
import { parseGoDuration } from "./durations.ts";
import { BACKEND_FLAGS, BACKEND_USAGE, findEntity, openEntityClient } from "./entity-client.ts";
import { type Algorithm, KeyFileError, checkKeyFits, isHmac, parseAlgorithm, publicPemFromFile, signingKeyFromFile } from "./key-files.ts";
import { signToken } from "./tokens.ts";

/** Go-style `-name value` / `-name=value` → `--name ...` for the flags a command knows. */
function goStyle(argv: string[], names: string[]): string[] {
  return argv.map((arg) => {
    const match = /^-([A-Za-z][\w-]+)(=.*)?$/.exec(arg);
    return match && names.includes(match[1]!) ? `-${arg}` : arg;
  });
}

/**
 * Flags EdgeX's commands take that change nothing here: `--confdir` (secrets-config's
 * configuration directory; this gateway has none) is accepted and noted on stderr.
 */
const EDGEX_IGNORED = { confdir: { type: "string" } } as const;

function noteIgnored(values: { confdir?: string }): void {
  if (values.confdir !== undefined) process.stderr.write(`note: --confdir ${values.confdir} ignored (secrets-config's configuration directory; this gateway needs none)\n`);
}

const EDGEX_USAGE = `EdgeX's environment: without --db or --admin-url (or GATEWAY_ADMIN_URL), KONGURL_SERVER names
the gateway (host or address, admin port KONGURL_ADMINPORT, default 8001; or a full http(s) URL),
as EdgeX's "add users remotely" docs set it. --confdir DIR is accepted and ignored. EdgeX 3.x's
--tokenTTL, --jwtTTL and --useRootToken are not implemented (3.x replaced Kong with OpenBao).
`;

/** EdgeX 3.x's adduser (OpenBao identities) flags: refused with what this gateway implements. */
const EDGEX3_FLAGS = ["tokenTTL", "jwtTTL", "useRootToken"];

function refuseEdgex3(argv: string[]): void {
  const given = argv.map((arg) => /^--?([A-Za-z]+)(=.*)?$/.exec(arg)?.[1]).filter((name): name is string => name !== undefined && EDGEX3_FLAGS.includes(name));
  if (given.length === 0) return;
  throw new UsageError(
    `--${given[0]} is an EdgeX 3.x flag (3.x adds users to OpenBao, which issues their JWTs); this gateway implements EdgeX 2.x's Kong-style commands: ` +
      "proxy adduser --token-type jwt --user NAME --algorithm ES256|RS256 --public_key FILE [--id ID] [--group GROUP], " +
      "then proxy jwt --id ID --algorithm ALG --private_key FILE [--expiration 1h] for the user's token (its lifetime is --expiration)",
  );
}

/** The openssl commands that make a key pair `alg` accepts, for refusal messages. */
export function opensslFor(alg: Algorithm): string {
  if (alg.startsWith("ES")) {
    const curve = { ES256: "prime256v1", ES384: "secp384r1", ES512: "secp521r1" }[alg as "ES256"];
    return `openssl ecparam -name ${curve} -genkey -noout -out user.key && openssl ec -in user.key -pubout -out user.pub`;
  }
  if (alg === "EdDSA") return "openssl genpkey -algorithm ed25519 -out user.key && openssl pkey -in user.key -pubout -out user.pub";
  return "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out user.key && openssl rsa -in user.key -pubout -out user.pub";
}

/** The public key of --public_key, checked against the algorithm before anything is written. */
function userPublicKey(path: string, alg: Algorithm): string {
  try {
    const { pem, key, wasPrivate } = publicPemFromFile(path, "--public_key");
    checkKeyFits(key, alg, `--public_key ${path}`);
    if (wasPrivate) process.stderr.write(`note: ${path} holds a private key; only its public half is stored\n`);
    return pem;
  } catch (error) {
    if (!(error instanceof KeyFileError)) throw error;
    throw new KeyFileError(`${error.message}; nothing was added. An acceptable ${alg} key pair: ${opensslFor(alg)}`);
  }
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

${BACKEND_USAGE}
${EDGEX_USAGE}`;

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
      ...EDGEX_IGNORED,
      ...BACKEND_FLAGS,
    } as const;
    refuseEdgex3(argv);
    const { values } = parseFlags(goStyle(argv, [...Object.keys(flags), "help"]), flags);
    if (helpRequested(values, adduserUsage)) return 0;
    noteIgnored(values);
    const tokenType = values["token-type"] ?? "jwt";
    if (tokenType !== "jwt") throw new UsageError(`--token-type: only jwt is supported, got '${tokenType}'`);
    const user = required(values.user, "--user", "the username to add");
    const alg = asymmetric(required(values.algorithm, "--algorithm", "ES256 or RS256"), "--algorithm");
    const pem = userPublicKey(required(values.public_key, "--public_key", "the user's PEM public key file"), alg);
    const group = values.group ?? "gateway-group";
    if (values.jwt !== undefined && values["admin-token"] !== undefined) throw new UsageError("--jwt and --admin-token: give one of them, not both");

    const client = openEntityClient({ ...values, "admin-token": values["admin-token"] ?? values.jwt }, { write: true, edgex: true });
    try {
      // All or nothing: a refused credential leaves no consumer or group behind.
      const credential = await client.atomically(async (undo) => {
        let consumer = await findEntity(client, "consumers", user);
        if (!consumer) {
          const created = await client.create("consumers", { username: user });
          undo(() => client.delete("consumers", created.id));
          consumer = created;
        }
        const consumerId = consumer.id;
        const groups = await client.list("acls", consumerId);
        if (!groups.some((acl) => acl.group === group)) {
          const acl = await client.create("acls", { group }, consumerId);
          undo(() => client.delete("acls", acl.id, { parent: consumerId }));
        }
        const input: Record<string, unknown> = { algorithm: alg, rsa_public_key: pem };
        if (values.id !== undefined) input.key = values.id;
        try {
          return await client.create("jwt_secrets", input, consumerId);
        } catch (error) {
          if (error instanceof GatewayError && error.status === 409) throw new Error(`a jwt credential with id (key) '${values.id ?? ""}' already exists`);
          throw error;
        }
      });
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

${BACKEND_USAGE}
${EDGEX_USAGE}`;

const deluser: Command = {
  name: "deluser",
  summary: "delete a user (EdgeX secrets-config proxy deluser)",
  usage: deluserUsage,
  async run(argv) {
    const flags = { user: { type: "string" }, jwt: { type: "string" }, ...EDGEX_IGNORED, ...BACKEND_FLAGS } as const;
    refuseEdgex3(argv);
    const { values } = parseFlags(goStyle(argv, [...Object.keys(flags), "help"]), flags);
    if (helpRequested(values, deluserUsage)) return 0;
    noteIgnored(values);
    const user = required(values.user, "--user", "the username to delete");
    if (values.jwt !== undefined && values["admin-token"] !== undefined) throw new UsageError("--jwt and --admin-token: give one of them, not both");
    const client = openEntityClient({ ...values, "admin-token": values["admin-token"] ?? values.jwt }, { write: true, edgex: true });
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
    const flags = { id: { type: "string" }, algorithm: { type: "string" }, private_key: { type: "string" }, expiration: { type: "string" }, ...EDGEX_IGNORED } as const;
    refuseEdgex3(argv);
    const { values } = parseFlags(goStyle(argv, [...Object.keys(flags), "help"]), flags);
    if (helpRequested(values, jwtUsage)) return 0;
    noteIgnored(values);
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

const tls: Command = {
  name: "tls",
  summary: "store the TLS listener's certificate (EdgeX secrets-config proxy tls)",
  usage: edgexTlsUsage,
  run: (argv) => edgexTls(goStyle(argv, ["incert", "inkey", "inCert", "inKey", "snis", "db", "admin-url", "admin-token", "help"])),
};

export const proxyCommand = commandGroup(
  "proxy",
  "EdgeX-compatible user, token and TLS commands (adduser, deluser, jwt, tls)",
  "EdgeX's secrets-config proxy commands, with EdgeX's flag names (one or two dashes).",
  [adduser, deluser, jwt, tls],
);
