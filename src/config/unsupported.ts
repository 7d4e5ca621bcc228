// Every Kong feature a declarative file asks for that this gateway does not have, each with its
// position, found before any entry is built so one refusal lists them all. What is supported
// comes from the entity definitions of the build (sections, nesting, fields, each field's
// `unsupported` rule) and the plugin registry: an entity or plugin that lands is accepted here
// without a change. Kong's own vocabulary (entities/kong.ts) tells a missing feature from a typo.
import type { EntityDefinition } from "../entities/definition.ts";
import { KONG_ENTITIES, KONG_FIELDS, KONG_NESTING } from "../entities/kong.ts";
import { clip, quote } from "../entities/quote.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";

export interface Finding {
  /** Where in the file: `services[0].routes[1]`, `upstreams`. */
  readonly position: string;
  /** In Kong's words, naming the entity and its position. */
  readonly message: string;
  /** The feature, for a summary (`plugin 'rate-limiting'`, `upstreams`, `protocol 'grpc'`). */
  readonly feature: string;
  /** The kind of entry that asks for it (`route`), or the section. */
  readonly kind: string;
}

type Entry = Record<string, unknown>;
const META = new Set(["_comment", "_ignore"]);
const GENERATED = new Set(["id", "tags", "created_at", "updated_at"]);
const VAULT = /^\{vault:\/\/([^/}]*)\//;

const isEntry = (value: unknown): value is Entry => typeof value === "object" && value !== null && !Array.isArray(value);

/** `route 'r1'`, or `route` for an entry without a name. */
export function describeEntry(label: string, entry: Entry): string {
  const name = entry.name ?? entry.username ?? entry.key ?? entry.group ?? entry.kid ?? entry.target ?? entry.id;
  return typeof name === "string" ? `${label} ${quote(name)}` : label;
}

function vaultsIn(value: unknown, path: string, found: (path: string, vault: string) => void): void {
  if (typeof value === "string") {
    const vault = VAULT.exec(value)?.[1];
    if (vault !== undefined && vault !== "env") found(path, vault);
  } else if (Array.isArray(value)) value.forEach((item, i) => vaultsIn(item, `${path}[${i}]`, found));
  else if (isEntry(value)) for (const [key, item] of Object.entries(value)) vaultsIn(item, path ? `${path}.${key}` : key, found);
}

/** The unsupported features of a parsed file, in file order; empty when everything is available. */
export function unsupportedFeatures(document: Entry, entities: readonly EntityDefinition[], registry: PluginRegistry): Finding[] {
  const findings: Finding[] = [];
  const byName = new Map(entities.map((entity) => [entity.name, entity]));
  const section = (key: string, position: string) =>
    findings.push({ position, feature: key, kind: key, message: `${key} at ${position} is not supported` });

  const visitEntry = (entity: EntityDefinition, raw: Entry, position: string) => {
    const label = entity.declarative.label ?? entity.label;
    const who = describeEntry(label, raw);
    const children = entities.filter((child) => child.declarative.nestedUnder?.includes(entity.name)).map((child) => child.name);
    let entry: Entry = raw;
    try {
      if (entity.shape) entry = entity.shape({ ...raw }, undefined);
    } catch {
      entry = raw; // The expansion's own error is the build's to report; the raw fields are checked here.
    }
    for (const refusal of entity.declarative.unsupported?.(entry, registry) ?? []) {
      findings.push({ position, kind: label, feature: refusal.feature, message: `${who} at ${position}${refusal.message}` });
    }
    for (const [key, value] of Object.entries(entry)) {
      if (META.has(key) || GENERATED.has(key)) continue;
      const child = children.includes(key) ? byName.get(key) : undefined;
      if (child) {
        if (Array.isArray(value)) value.forEach((item, i) => isEntry(item) && visitEntry(child, item, `${position}.${key}[${i}]`));
        continue;
      }
      const field = entity.fields[key];
      if (field) {
        const why = field.unsupported?.(value);
        if (why) findings.push({ position: `${position}.${key}`, kind: label, feature: why.replace(/ (is|are) not supported.*$/, ""), message: `${who} at ${position}: ${why}` });
        continue;
      }
      if (KONG_NESTING[entity.name]?.includes(key)) {
        if (value !== null && !(Array.isArray(value) && value.length === 0)) section(key, `${position}.${key}`);
      } else if (KONG_FIELDS[entity.name]?.includes(key)) {
        findings.push({ position: `${position}.${key}`, kind: label, feature: key, message: `${who} at ${position}: ${key} is not supported` });
      }
    }
    const own = Object.fromEntries(Object.entries(entry).filter(([key]) => !children.includes(key)));
    vaultsIn(own, "", (path, vault) =>
      findings.push({ position: `${position}.${path}`, kind: label, feature: `vault '${vault}'`, message: `${who} at ${position}: ${clip(path)}: vault ${quote(vault)} is not supported (only {vault://env/...})` }),
    );
  };

  for (const [key, value] of Object.entries(document)) {
    if (key.startsWith("_")) continue;
    const entity = byName.get(key);
    if (entity) {
      if (Array.isArray(value)) value.forEach((item, i) => isEntry(item) && visitEntry(entity, item, `${key}[${i}]`));
    } else if (KONG_ENTITIES.has(key) && value !== null && !(Array.isArray(value) && value.length === 0)) {
      section(key, key);
    }
  }
  return findings;
}

/** The same feature asked for in several places: one line, its first place in full and the others' positions. */
const SHOWN_POSITIONS = 5;

/** A line per feature: where it is asked for first in full, and the other positions. */
export function featureLines(findings: readonly Finding[]): string[] {
  const groups = new Map<string, Finding[]>();
  for (const finding of findings) {
    const key = `${finding.kind}\u0000${finding.feature}`;
    const group = groups.get(key);
    if (group) group.push(finding);
    else groups.set(key, [finding]);
  }
  return [...groups.values()].map(([first, ...others]) => {
    if (others.length === 0) return `  - ${first!.message}`;
    const shown = others.slice(0, SHOWN_POSITIONS).map((finding) => finding.position.replace(/\.[^.[\]]+$/, ""));
    const rest = others.length > SHOWN_POSITIONS ? ` and ${others.length - SHOWN_POSITIONS} more` : "";
    return `  - ${first!.message} (also at ${shown.join(", ")}${rest})`;
  });
}

/** One message for all of them, a line per feature. */
export function unsupportedMessage(findings: readonly Finding[]): string {
  const lines = featureLines(findings);
  const count = lines.length === 1 ? "1 Kong feature" : `${lines.length} Kong features`;
  return `this file uses ${count} this gateway does not have:\n${lines.join("\n")}`;
}
