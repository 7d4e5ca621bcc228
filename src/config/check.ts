// `gateway config check`: what a Kong user planning a move needs to know of a declarative file
// before moving it: what in it works here, what works differently (and where the README says
// how), what is missing. Missing features come from the same finder as the loader's refusal;
// a file without any is then loaded as `serve --config` would, so "will work" means it loads.
import type { EntityDefinition } from "../entities/definition.ts";
import { coreEntities, entityList } from "../entities/index.ts";
import { GatewayError } from "../errors.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { parseDeclarative } from "./declarative.ts";
import { parseDocument } from "./document.ts";
import { type Finding, featureLines, unsupportedFeatures } from "./unsupported.ts";

export interface Difference {
  readonly what: string;
  /** The README section that says how it works here. */
  readonly readme: string;
}

export interface CheckReport {
  /** Everything in the file works here (differences aside): the file loads. */
  readonly ok: boolean;
  /** Entries by kind (`3 services`) and the plugins used, that work here. */
  readonly works: string[];
  readonly differences: Difference[];
  readonly missing: Finding[];
  /** Why the file does not load although nothing in it is missing (a bad value), or null. */
  readonly refused: string | null;
}

type Entry = Record<string, unknown>;
const isEntry = (value: unknown): value is Entry => typeof value === "object" && value !== null && !Array.isArray(value);

/** Every entry of each supported kind, wherever it is nested, with its position. */
function entriesByKind(document: Entry, entities: readonly EntityDefinition[]): Map<string, Entry[]> {
  const byKind = new Map<string, Entry[]>(entities.map((entity) => [entity.name, []]));
  const visit = (entity: EntityDefinition, list: unknown) => {
    if (!Array.isArray(list)) return;
    for (const entry of list) {
      if (!isEntry(entry)) continue;
      byKind.get(entity.name)!.push(entry);
      for (const child of entities) if (child.declarative.nestedUnder?.includes(entity.name)) visit(child, entry[child.name]);
    }
  };
  for (const entity of entities) visit(entity, document[entity.name]);
  return byKind;
}

function differencesOf(document: Entry, byKind: Map<string, Entry[]>, registry: PluginRegistry): Difference[] {
  const differences: Difference[] = [];
  if (isEntry(document._info) && (document._info.select_tags !== undefined || document._info.defaults !== undefined)) {
    differences.push({ what: "decK's _info (select_tags, defaults) is decK's to apply: loaded here directly, entities get neither its tags nor its defaults", readme: "Coming from Kong" });
  }
  if (document._transform === false && (byKind.get("basicauth_credentials") ?? []).some((credential) => typeof credential.password === "string")) {
    differences.push({
      what: "with _transform: false Kong takes a basic-auth password as its own SHA-1 hash; here a password is always hashed (give password_hash, argon2id or bcrypt, for a hash)",
      readme: "`basic-auth` (priority 1100) and `basicauth_credentials`",
    });
  }
  const routes = byKind.get("routes") ?? [];
  if ((byKind.get("services") ?? []).length > 0) {
    differences.push({
      what: "a service's write_timeout is stored, not enforced; connect_timeout bounds connecting only for requests without a body to http services, and retries repeat only requests without a body (a streamed body cannot be replayed)",
      readme: "Proxy behaviour",
    });
  }
  const https = (byKind.get("services") ?? []).filter((service) => service.protocol === "https" || (typeof service.url === "string" && /^https:/i.test(service.url)));
  if (https.some((service) => service.tls_verify === undefined || service.tls_verify === null)) {
    differences.push({
      what: "an https service's certificate and host name are verified unless it says tls_verify: false (Kong's default is not to verify); its ca_certificates replace the system trust store, as in Kong",
      readme: "Upstream TLS (verified by default)",
    });
  }
  if (https.some((service) => typeof service.tls_verify_depth === "number")) {
    differences.push({ what: "tls_verify_depth is stored, not enforced: the certificate chain is verified without a depth limit", readme: "Upstream TLS (verified by default)" });
  }
  if (routes.some((route) => Array.isArray(route.paths) && route.paths.some((path) => typeof path === "string" && path.startsWith("~")))) {
    differences.push({ what: "regex paths are JavaScript regular expressions, not PCRE, anchored at the start of the path", readme: "Proxy behaviour" });
  }
  if (routes.length > 0) {
    differences.push({
      what: "request and response bodies are streamed to and from the service, never buffered, whatever request_buffering and response_buffering say",
      readme: "Route fields",
    });
  }
  const narrowed = (byKind.get("plugins") ?? []).filter(
    (plugin) => Array.isArray(plugin.protocols) && !(plugin.protocols.includes("http") && plugin.protocols.includes("https")),
  );
  if (narrowed.length > 0) {
    const names = [...new Set(narrowed.map((plugin) => `'${String(plugin.name)}'`))].join(", ");
    differences.push({ what: `plugin ${names} runs on http and https requests alike: its protocols list does not narrow it`, readme: "Route fields" });
  }
  if (routes.some((route) => route.path_handling === "v1")) {
    differences.push({ what: "path_handling v1 joins paths as Kong 1.x did (Kong deprecates it; it is honoured here)", readme: "Route fields" });
  }
  const used = new Set((byKind.get("plugins") ?? []).map((plugin) => plugin.name));
  for (const [name, definition] of registry) if (used.has(name)) differences.push(...(definition.differences ?? []));
  return differences;
}

function worksOf(byKind: Map<string, Entry[]>, entities: readonly EntityDefinition[], registry: PluginRegistry): string[] {
  const counts = entities
    .map((entity) => [entity, byKind.get(entity.name)?.length ?? 0] as const)
    .filter(([, count]) => count > 0)
    .map(([entity, count]) => `${count} ${count === 1 ? entity.label : (entity.cli?.nouns ?? entity.name)}`);
  const works = counts.length ? [counts.join(", ")] : [];
  const plugins = new Map<string, number>();
  for (const plugin of byKind.get("plugins") ?? []) {
    if (typeof plugin.name === "string" && registry.has(plugin.name)) plugins.set(plugin.name, (plugins.get(plugin.name) ?? 0) + 1);
  }
  if (plugins.size) works.push(`plugins: ${[...plugins].map(([name, n]) => (n > 1 ? `${name} (${n})` : name)).join(", ")}`);
  return works;
}

export function checkDeclarative(text: string, registry: PluginRegistry, entities: readonly EntityDefinition[] = entityList(coreEntities, registry.values())): CheckReport {
  let document: unknown;
  try {
    document = parseDocument(text);
  } catch {
    document = undefined;
  }
  if (!isEntry(document)) {
    // The loader says why in its own words (not YAML, not a mapping).
    let refused = "the file is not a declarative configuration";
    try {
      parseDeclarative(text, registry, { entities });
    } catch (error) {
      refused = error instanceof Error ? error.message : String(error);
    }
    return { ok: false, works: [], differences: [], missing: [], refused };
  }
  const byKind = entriesByKind(document, entities);
  const missing = unsupportedFeatures(document, entities, registry);
  let refused: string | null = null;
  if (missing.length === 0) {
    try {
      parseDeclarative(text, registry, { entities });
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      refused = error.message;
    }
  }
  return { ok: missing.length === 0 && refused === null, works: worksOf(byKind, entities, registry), differences: differencesOf(document, byKind, registry), missing, refused };
}

export function formatCheck(file: string, report: CheckReport): string {
  const lines: string[] = [];
  const missing = featureLines(report.missing);
  if (report.ok) lines.push(`${file}: everything in it will work here${report.differences.length ? " (some of it differently, see below)" : ""}.`);
  else if (missing.length) lines.push(`${file}: ${missing.length === 1 ? "1 Kong feature" : `${missing.length} Kong features`} it uses ${missing.length === 1 ? "is" : "are"} missing here; it will not load.`);
  else lines.push(`${file}: it will not load here.`);
  if (report.works.length) lines.push("", "Will work:", ...report.works.map((line) => `  ${line}`));
  if (report.differences.length) lines.push("", "Works differently:", ...report.differences.map((d) => `  - ${d.what} (README "${d.readme}")`));
  if (missing.length) lines.push("", "Missing:", ...missing);
  if (report.refused) lines.push("", "Refused:", `  ${report.refused.replaceAll("\n", "\n  ")}`);
  return `${lines.join("\n")}\n`;
}
