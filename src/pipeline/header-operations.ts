// Kong's transformer operations on headers (and the name:value items of a JSON object), shared by
// request-transformer and response-transformer: remove, rename, replace, add, append, in that
// order. Items are Kong's `name` (remove) or `name:value` strings (rename: `old:new`).
import { t } from "../entities/t.ts";
import type { HeaderFields } from "./contract.ts";
import type { FieldErrors } from "../errors.ts";
import { NO_OWNED_HEADERS, isClientOnly } from "../proxy/client-headers.ts";
import { toHeaderValue } from "./request-context.ts";

export const OPERATIONS = ["remove", "rename", "replace", "add", "append"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** `name:value`: the first colon splits (a value may hold colons, a name may not). */
export const Pair = t.String({ minLength: 2, maxLength: 4096, pattern: "^[^:]+:" });
export const Names = (description: string) => t.Optional(t.Array(t.String({ minLength: 1, maxLength: 256 }), { default: [], description }));
export const Pairs = (description: string) => t.Optional(t.Array(Pair, { default: [], description }));

export function splitPair(item: string): [string, string] {
  const colon = item.indexOf(":");
  return colon < 0 ? [item, ""] : [item.slice(0, colon).trim(), item.slice(colon + 1)];
}

/** The header name an item names (the target too, for rename). */
function headerNamesOf(operation: Operation, item: string): string[] {
  if (operation === "remove") return [item];
  const [name, value] = splitPair(item);
  return operation === "rename" ? [name, value] : [name];
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Header items a config may not hold: malformed names, values no header can carry (control
 * characters: every request would fail), and headers the gateway owns (identity, forwarding,
 * framing, hop-by-hop; see src/proxy/client-headers.ts), so no transformer can claim a
 * consumer or an address for a client.
 */
export function checkHeaderItems(config: Partial<Record<Operation, { headers?: string[] }>>, reserved: (lowerCaseName: string) => boolean, fields: FieldErrors): void {
  for (const operation of OPERATIONS) {
    (config[operation]?.headers ?? []).forEach((item, i) => {
      if (operation !== "remove" && !item.includes(":")) {
        fields[`${operation}.headers[${i}]`] = `expected '<header>:<${operation === "rename" ? "new name" : "value"}>'`;
        return;
      }
      for (const name of headerNamesOf(operation, item)) {
        if (!HEADER_NAME.test(name)) fields[`${operation}.headers[${i}]`] = `'${name}' is not a header name`;
        else if (reserved(name.toLowerCase())) fields[`${operation}.headers[${i}]`] = `'${name}' is set by the gateway itself`;
      }
      if (operation !== "remove" && operation !== "rename" && toHeaderValue(splitPair(item)[1]) === null) {
        fields[`${operation}.headers[${i}]`] = "the value holds a control character (CR, LF, NUL…), which no header can carry";
      }
    });
  }
}

/** Request headers the gateway sets or frames itself. */
export function reservedRequestHeader(name: string): boolean {
  return isClientOnly(name, NO_OWNED_HEADERS) || ["host", "content-length", "x-forwarded-for", "x-request-id"].includes(name);
}

/** Response headers the gateway sets or frames itself. */
export function reservedResponseHeader(name: string): boolean {
  return isClientOnly(name, NO_OWNED_HEADERS) || ["content-length", "x-request-id", "x-gateway-upstream-latency", "x-gateway-proxy-latency"].includes(name);
}

/** One section (headers, query string, body fields) of a transformer config: names to remove, then `[name, value]` pairs (rename: `[old, new]`). */
export interface OperationPlan {
  remove: string[];
  rename: [string, string][];
  replace: [string, string][];
  add: [string, string][];
  append: [string, string][];
}

/** A `name:value` item as it is set: the name lower-cased, the value as header text (text beyond ASCII as its UTF-8 bytes, as Kong sends it). */
function valuePair(item: string): [string, string] {
  const [name, value] = splitPair(item);
  return [name.toLowerCase(), toHeaderValue(value) ?? value];
}

export function headerPlan(config: Partial<Record<Operation, { headers?: string[] }>>): OperationPlan {
  return {
    remove: (config.remove?.headers ?? []).map((name) => name.trim().toLowerCase()),
    rename: (config.rename?.headers ?? []).map((item) => splitPair(item)).map(([a, b]) => [a.toLowerCase(), b.trim().toLowerCase()]),
    replace: (config.replace?.headers ?? []).map(valuePair),
    add: (config.add?.headers ?? []).map(valuePair),
    append: (config.append?.headers ?? []).map(valuePair),
  };
}

export const isEmptyPlan = (plan: OperationPlan) => OPERATIONS.every((operation) => plan[operation].length === 0);

/** Kong's order: remove; rename (if present); replace (if present); add (if absent); append. */
export function applyHeaderPlan(headers: HeaderFields, plan: OperationPlan): void {
  for (const name of plan.remove) headers.delete(name);
  for (const [from, to] of plan.rename) {
    const value = headers.get(from);
    if (value === null) continue;
    headers.delete(from);
    headers.set(to, value);
  }
  for (const [name, value] of plan.replace) if (headers.has(name)) headers.set(name, value);
  for (const [name, value] of plan.add) if (!headers.has(name)) headers.set(name, value);
  for (const [name, value] of plan.append) headers.append(name, value);
}
