// Values a configuration takes from the environment, and values that would otherwise be used
// literally. Kong's env vault references (`{vault://env/NAME}`, or `{vault://env/NAME/KEY}` for
// a field of a JSON value) are allowed in the fields listed below; any other vault, and `$VAR` /
// `${VAR}` placeholders a templating step left unexpanded, are refused naming the field.
// Entities keep the reference, never the value: the value is read from the environment each time
// the state is loaded, so exports and admin reads show the reference, and a restart re-reads it.
import { type FieldErrors, ValidationError } from "../errors.ts";
import { clip, quote } from "./quote.ts";

/** Where an entity's fields take references and are checked for placeholders (from its definition). */
export interface VaultFields {
  readonly fields: Readonly<Record<string, VaultRule>>;
}

export interface VaultRule {
  /** "value": the whole value may be a reference; "inside": strings within it may (plugin config). */
  readonly vault?: "value" | "inside";
  /** Where a `$VAR` would be used literally: the value itself, or each item of a list. */
  readonly placeholders?: "value" | "items";
  /** Why a reference cannot stand for this value (service `url`). */
  readonly vaultRefusal?: string;
}

type Path = (string | number)[];

export interface Reference {
  path: Path;
  /** The reference as written, e.g. `{vault://env/orders-secret}`. */
  reference: string;
  /** What it resolved to. */
  value: string;
}

const ruleOf = (kind: VaultFields, path: Path): VaultRule | undefined =>
  Object.hasOwn(kind.fields, String(path[0])) ? kind.fields[String(path[0])] : undefined;

/** Fields whose whole value may be a reference: upstream locations, credential material, plugin config values. */
function referenceable(kind: VaultFields, path: Path): boolean {
  const vault = ruleOf(kind, path)?.vault;
  return vault === "value" ? path.length === 1 : vault === "inside" && path.length > 1;
}

/** Hosts, URLs and secrets: where a placeholder would be used as a literal. */
function placeholderChecked(kind: VaultFields, path: Path): boolean {
  const placeholders = ruleOf(kind, path)?.placeholders;
  if (placeholders === "value" && path.length === 1) return true;
  if (placeholders === "items" && path.length === 2) return true;
  return referenceable(kind, path);
}

/**
 * How deep an entity's arrays and objects may nest: far beyond any schema's, and shallow enough
 * that walking a write's input stays linear and off the stack's limit (a 40 KB body of nested
 * arrays took 5 s and overflowed it).
 */
export const MAX_NESTING = 64;

const WHERE_ALLOWED = "only in service host and path, jwt credential key, secret, rsa_public_key and jwks_uri, and plugin config values";
const REFERENCE = /^\{vault:\/\/([^/}]*)\/(.*)\}$/s;
const ENV_REFERENCE = /^([A-Za-z0-9_-]+)(?:\/([^/?#]+))?$/;
// `${NAME}`, with the shell's `${NAME:-default}` family; bare `$NAME` only in upper case, as a
// whole word, so `/odata/$metadata` or `a$b` in a path or a secret are left alone.
const BRACED = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[:?+=-][^}]{0,256})?\}/;
const BARE = /(?<![A-Za-z0-9_$\\])\$([A-Z][A-Z0-9_]*)(?![A-Za-z0-9_])/;

/** The environment variable Kong's env vault reads for a name: upper case, `-` as `_`. */
function envVariableName(name: string): string {
  return name.toUpperCase().replaceAll("-", "_");
}

/** The value of a reference, or the reason there is none. */
function resolve(reference: string): { value: string } | { error: string } {
  const [, vault, rest] = REFERENCE.exec(reference)!;
  if (vault !== "env") return { error: `vault ${quote(vault)} is not supported; only {vault://env/...}` };
  const parts = ENV_REFERENCE.exec(rest!);
  if (!parts) return { error: "not a valid env vault reference: write {vault://env/NAME} or {vault://env/NAME/KEY}" };
  const variable = envVariableName(parts[1]!);
  const raw = process.env[variable];
  const from = `(referenced as ${clip(reference)})`;
  if (raw === undefined) return { error: `environment variable ${clip(variable)} is not set ${from}` };
  const key = parts[2];
  if (key === undefined) return { value: raw };
  let field: unknown;
  try {
    field = (JSON.parse(raw) as Record<string, unknown> | null)?.[key];
  } catch {
    field = undefined;
  }
  if (typeof field !== "string") return { error: `environment variable ${clip(variable)} is not a JSON object with a string field ${quote(key)} ${from}` };
  return { value: field };
}

function placeholderIn(kind: VaultFields, path: Path, text: string): string | undefined {
  const found = BRACED.exec(text) ?? BARE.exec(text);
  if (!found) return undefined;
  const what = `looks like an unexpanded environment variable placeholder (${clip(found[0])})`;
  // A reference stands for a whole value, in a field that takes one; otherwise only expanding helps.
  if (found[0] === text && referenceable(kind, path)) return `${what}; use {vault://env/${clip(found[1]!)}} or expand it before loading`;
  return `${what}; expand it before loading`;
}

/** What is wrong with a string at `path`, or the reference it holds. */
function inspect(kind: VaultFields, path: Path, text: string): { error: string } | Reference | undefined {
  if (REFERENCE.test(text)) {
    const refusal = path.length === 1 ? ruleOf(kind, path)?.vaultRefusal : undefined;
    if (refusal) return { error: refusal };
    if (!referenceable(kind, path)) return { error: `vault references are not supported in this field (${WHERE_ALLOWED})` };
    const resolved = resolve(text);
    return "error" in resolved ? resolved : { path, reference: text, value: resolved.value };
  }
  if (text.includes("{vault://")) return { error: "a vault reference must be the whole value, as in {vault://env/NAME}" };
  const placeholder = placeholderChecked(kind, path) ? placeholderIn(kind, path, text) : undefined;
  return placeholder ? { error: placeholder } : undefined;
}

function fieldName(path: Path): string {
  return path.map((part, i) => (typeof part === "number" ? `[${part}]` : i === 0 ? clip(part) : `.${clip(part)}`)).join("");
}

/**
 * Every string of `value` (a write's input, or a stored entity's referenceable fields) with its
 * references resolved. Throws a ValidationError naming each bad field.
 */
function resolveTree(kind: VaultFields, value: unknown, only?: (path: Path, text: string) => boolean): { value: unknown; references: Reference[] } {
  const references: Reference[] = [];
  const fields: FieldErrors = {};
  const visit = (node: unknown, path: Path): unknown => {
    if (Object.keys(fields).length >= 20) return node;
    if (path.length === MAX_NESTING && typeof node === "object" && node !== null) {
      fields[fieldName(path.slice(0, 1))] = `nests deeper than ${MAX_NESTING} levels of arrays and objects`;
      return node;
    }
    if (typeof node === "string") {
      if (only && !only(path, node)) return node;
      const found = inspect(kind, path, node);
      if (!found) return node;
      if ("error" in found) {
        fields[fieldName(path)] = found.error;
        return node;
      }
      references.push(found);
      return found.value;
    }
    // Copies only what changed: an entity without references comes back as the same object.
    if (Array.isArray(node)) {
      const items = node.map((item, i) => visit(item, [...path, i]));
      return items.every((item, i) => item === node[i]) ? node : items;
    }
    if (typeof node === "object" && node !== null) {
      const entries = Object.entries(node);
      const visited = entries.map(([key, item]) => [key, visit(item, [...path, key])] as const);
      return visited.every(([, item], i) => item === entries[i]![1]) ? node : Object.fromEntries(visited);
    }
    return node;
  };
  const resolved = visit(value, []);
  if (Object.keys(fields).length) throw new ValidationError(fields);
  return { value: resolved, references };
}

function getPath(value: unknown, path: Path): unknown {
  let node = value;
  for (const part of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

/** A copy of `value` with `replacement` at `path` (copying only the objects along it). */
function setPath<T>(value: T, path: Path, replacement: unknown): T {
  if (path.length === 0) return replacement as T;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<string | number, unknown>;
  copy[head!] = setPath(copy[head!], rest, replacement);
  return copy as T;
}

/** Puts each reference back where the entity holds exactly the value it resolved to. */
function withReferences<T>(entity: T, references: Reference[]): T {
  let out = entity;
  for (const ref of references) if (getPath(out, ref.path) === ref.value) out = setPath(out, ref.path, ref.reference);
  return out;
}

/**
 * A stored entity as the gateway runs it: its references resolved from the environment now.
 * Throws a ValidationError naming the field when a variable is missing.
 */
export function resolveStored<T>(kind: VaultFields, entity: T): { value: T; references: Reference[] } {
  // Only references are looked at: data written before these checks existed still loads.
  const resolved = resolveTree(kind, entity, (path, text) => referenceable(kind, path) && REFERENCE.test(text));
  return { value: resolved.value as T, references: resolved.references };
}

/**
 * The one way every write builds an entity (admin API, CLI, declarative files): `make` sees
 * and validates the values references resolve to, and the result holds the references again,
 * so what is stored never holds a value taken from the environment. `existing` (a PATCH) is
 * stored form too; its references stay where the input did not replace the field.
 */
export function buildWithReferences<T>(kind: VaultFields, input: unknown, existing: T | undefined, make: (input: unknown, existing: T | undefined) => T): T {
  const incoming = resolveTree(kind, input);
  const before = existing === undefined ? undefined : resolveStored(kind, existing);
  const built = make(incoming.value, before?.value);
  const kept = (before?.references ?? []).filter((ref) => getPath(input, ref.path) === undefined);
  return withReferences(built, [...incoming.references, ...kept]);
}
