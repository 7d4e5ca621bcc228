// `gateway config init|validate|export|import`: the declarative file (SPEC §8) from the
// command line — an example to start from, a check before deploying, and moving state between
// a file and a database or running gateway.
import { existsSync, writeFileSync } from "node:fs";
import { checkDeclarative, formatCheck } from "../config/check.ts";
import { parseDeclarative } from "../config/declarative.ts";
import { UsageError } from "../errors.ts";
import { builtinPlugins } from "../gateway.ts";
import { type Command, commandGroup, helpRequested, parseFlags } from "./command.ts";
import { BACKEND_FLAGS, BACKEND_USAGE, type ImportCounts, builtinEntities, countsOf, openEntityClient } from "./entity-client.ts";
import { readTextFile } from "./key-files.ts";

const EXAMPLE_CONFIG = `# gateway declarative configuration: Kong's kong.yml format (DB-less mode).
#   gateway config validate kong.yml     check it (exit 1 names the entity, position and field)
#   gateway serve --config kong.yml      run it; kill -HUP <pid> reloads it (a bad file changes nothing)
#   gateway config import kong.yml       or load it into the database (./gateway.db)
_format_version: "3.0"

services:
  # An upstream, and the routes that send requests to it.
  - name: my-api-server
    url: http://127.0.0.1:9000          # your microservice
    routes:
      - name: api
        paths: ["/api"]                 # /api/orders is proxied as /orders (strip_path: true)
    plugins:
      # Requests need a valid JWT: its iss claim names the credential (key_claim_name: iss)
      # and its exp claim must be present and in the future.
      - name: jwt
        config:
          claims_to_verify: [exp]
      # ... from a consumer in one of these groups (403 otherwise).
      - name: acl
        config:
          allow: [api-users]

consumers:
  - username: login-server
    acls:
      - group: api-users
    jwt_secrets:
      # HS256 with a secret generated from this entry (the same on every load). Read it with
      #   curl http://127.0.0.1:8001/consumers/login-server/jwt
      # and make a test token with
      #   gateway sign --alg HS256 --secret SECRET --iss login-server
      - key: login-server
        algorithm: HS256
      # Or a secret read from the environment (LOGIN_SECRET) at every load; exports keep the
      # reference, never the value. $VAR / \${VAR} placeholders are refused, not used literally.
      # - key: login-server-2
      #   secret: "{vault://env/login-secret}"
      # A signer with a key pair instead (gateway keygen --alg ES256 writes one):
      # - key: my-issuer
      #   algorithm: ES256
      #   rsa_public_key: |
      #     -----BEGIN PUBLIC KEY-----
      #     ...
      #     -----END PUBLIC KEY-----
      # Or the keys of an identity provider, chosen by the token's kid:
      # - key: https://idp.example.com/realms/main
      #   algorithm: RS256
      #   jwks_uri: https://idp.example.com/realms/main/protocol/openid-connect/certs
`;

function countsLine(counts: ImportCounts): string {
  return Object.entries(counts)
    .map(([kind, n]) => `${n} ${builtinEntities.find((entity) => entity.name === kind)?.cli?.nouns ?? kind}`)
    .join(", ");
}

const initUsage = `Usage: gateway config init [FILE]

Writes a commented example configuration to FILE (default kong.yml; "-" for stdout). Never
overwrites a file.
`;

const init: Command = {
  name: "init",
  summary: "write a commented example file",
  usage: initUsage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {}, true);
    if (helpRequested(values, initUsage)) return 0;
    if (positionals.length > 1) throw new UsageError(`config init: expected at most one FILE, got ${positionals.length}`);
    const file = positionals[0] ?? "kong.yml";
    if (file === "-") {
      process.stdout.write(EXAMPLE_CONFIG);
      return 0;
    }
    if (existsSync(file)) throw new Error(`${file} exists; not overwriting it (remove it or name another FILE)`);
    writeFileSync(file, EXAMPLE_CONFIG, { flag: "wx" });
    process.stdout.write(`wrote ${file}\n`);
    return 0;
  },
};

const validateUsage = `Usage: gateway config validate FILE

Checks a declarative file as serve --config would load it. Exit 0 with the entity counts, or
exit 1 listing every Kong feature the file uses that this gateway does not have (each with its
position), or else the first error, naming the entity, its position and the field. For a
report of what works, what works differently and what is missing: gateway config check.
`;

const validate: Command = {
  name: "validate",
  summary: "check a file",
  usage: validateUsage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, {}, true);
    if (helpRequested(values, validateUsage)) return 0;
    if (positionals.length !== 1) throw new UsageError(`config validate: expected one FILE, got ${positionals.length}`);
    const state = parseDeclarative(readTextFile(positionals[0]!, "FILE"), builtinPlugins);
    process.stdout.write(`ok: ${countsLine(countsOf(state, builtinEntities))}\n`);
    return 0;
  },
};

const checkUsage = `Usage: gateway config check [--json] FILE

For a Kong user planning a move: what in the Kong declarative file FILE will work here, what
works differently (with the README section that says how), and every Kong feature it uses
that this gateway does not have, with its position. Exit 0 only when everything will work
(the file loads); 1 otherwise.

  --json    the report as JSON: {ok, works, differences, missing, refused}
`;

const check: Command = {
  name: "check",
  summary: "report what of a Kong file works here",
  usage: checkUsage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { json: { type: "boolean" } }, true);
    if (helpRequested(values, checkUsage)) return 0;
    if (positionals.length !== 1) throw new UsageError(`config check: expected one FILE, got ${positionals.length}`);
    const file = positionals[0]!;
    const report = checkDeclarative(readTextFile(file, "FILE"), builtinPlugins);
    process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatCheck(file, report));
    return report.ok ? 0 : 1;
  },
};

const exportUsage = `Usage: gateway config export [--format yaml|json] [--include-private-keys]

Prints the whole state as a declarative file on stdout.

  --format yaml|json        default yaml
  --include-private-keys    keystore keys with their private halves (database file only;
                            without it keys are exported public, and importing the export
                            into the same database keeps the private halves it holds)

${BACKEND_USAGE}`;

const exportCommand: Command = {
  name: "export",
  summary: "print the state as a declarative file",
  usage: exportUsage,
  async run(argv) {
    const { values } = parseFlags(argv, { format: { type: "string" }, "include-private-keys": { type: "boolean" }, ...BACKEND_FLAGS });
    if (helpRequested(values, exportUsage)) return 0;
    const format = values.format ?? "yaml";
    if (format !== "yaml" && format !== "json") throw new UsageError(`--format: expected yaml or json, got '${format}'`);
    const client = openEntityClient(values, { write: false });
    try {
      process.stdout.write(await client.exportConfig(format, values["include-private-keys"] === true));
    } finally {
      client.close();
    }
    return 0;
  },
};

const importUsage = `Usage: gateway config import FILE

Replaces the whole state with FILE, atomically: everything is validated first and a file with
an error changes nothing. Keystore keys the file has without their private half keep the one
the database holds.

${BACKEND_USAGE}`;

const importCommand: Command = {
  name: "import",
  summary: "replace the state with a declarative file",
  usage: importUsage,
  async run(argv) {
    const { values, positionals } = parseFlags(argv, { ...BACKEND_FLAGS }, true);
    if (helpRequested(values, importUsage)) return 0;
    if (positionals.length !== 1) throw new UsageError(`config import: expected one FILE, got ${positionals.length}`);
    const file = positionals[0]!;
    const text = readTextFile(file, "FILE");
    const client = openEntityClient(values, { write: true });
    try {
      const counts = await client.importConfig(text, file);
      process.stdout.write(`imported ${file} into ${client.where}: ${countsLine(counts)}\n`);
    } finally {
      client.close();
    }
    return 0;
  },
};

export const configCommand = commandGroup("config", "declarative file: init, validate, check, export, import", "The declarative configuration file (Kong's kong.yml format).", [
  init,
  validate,
  check,
  exportCommand,
  importCommand,
]);
