// Target (Kong's `targets`): one `host:port` an upstream balances over, with its weight. A
// target without a port gets Kong's 8000; weight 0 keeps the target out of the rotation.
import { isIP } from "node:net";
import { type RecordOf, defineEntity, reference } from "./definition.ts";
import { t } from "./t.ts";

const DEFAULT_PORT = 8000;
const HOST_NAME = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

export interface TargetAddress {
  /** As a URL writes it: IPv6 literals in brackets. */
  host: string;
  /** Without brackets: what a socket connects to. */
  hostname: string;
  port: number;
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` → its parts, or why it is not a target. */
export function parseTarget(text: string): TargetAddress | string {
  let hostname: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed) {
    hostname = bracketed[1]!;
    port = bracketed[2];
    if (isIP(hostname) !== 6) return "Invalid target; not a valid hostname or ip address";
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") !== colon) return "Invalid target; IPv6 addresses go in brackets, as in [::1]:8080";
    hostname = colon >= 0 ? text.slice(0, colon) : text;
    port = colon >= 0 ? text.slice(colon + 1) : undefined;
    if (!isIP(hostname) && !HOST_NAME.test(hostname)) return "Invalid target; not a valid hostname or ip address";
  }
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return "Invalid target; the port must be a number";
  const number = port === undefined ? DEFAULT_PORT : Number(port);
  if (number < 1 || number > 65535) return "Invalid target; the port must be from 1 to 65535";
  return { host: isIP(hostname) === 6 ? `[${hostname}]` : hostname.toLowerCase(), hostname: hostname.toLowerCase(), port: number };
}

/** The target as stored: always with its port. */
function normalized(text: string): string {
  const parsed = parseTarget(text);
  return typeof parsed === "string" ? text : `${parsed.host}:${parsed.port}`;
}

export const targetEntity = defineEntity({
  name: "targets",
  label: "target",
  schemaName: "Target",
  fields: {
    upstream: reference("upstreams", { onDelete: "cascade", index: true }),
    target: {
      storage: "text",
      input: t.String({ minLength: 1, maxLength: 300, description: "host:port (port default 8000)", examples: ["10.0.0.12:8080"] }),
      output: t.String(),
      required: true,
      endpointKey: true,
      normalize: normalized,
    },
    weight: { storage: "integer", input: t.Integer({ minimum: 0, maximum: 65535 }), output: t.Integer(), default: 100 },
  },
  uniques: [["upstream", "target"]],
  inputExamples: [{ target: "10.0.0.12:8080", weight: 100 }],
  example: {
    id: "8c2e4a6b-1d3f-4b5a-9c7e-0f1a2b3c4d5e", upstream: { id: "5a1c9e0b-8d7f-4e6a-9b3c-2d1e0f9a8b7c" }, target: "10.0.0.12:8080", weight: 100,
    tags: [], created_at: 1795000000, updated_at: 1795000000,
  },
  complete(target, { fields }) {
    const parsed = parseTarget(target.target);
    if (typeof parsed === "string") fields.target = parsed;
  },
  declarative: {
    nestedUnder: ["upstreams"],
    idSeed: (entry, refs, position) => `targets:${refs.upstream}:${typeof entry.target === "string" ? normalized(entry.target) : position}`,
    uniques: (target) => [["upstream+target", `${target.upstream.id}/${target.target}`]],
  },
  admin: {
    tag: "upstreams",
    tagDescription: "Upstreams: host names a service can name, balanced over their targets",
    noun: "target",
    nouns: "targets",
    param: { name: "target", description: "id or host:port of the target", example: "10.0.0.12:8080" },
    collections: [
      {
        under: "upstreams",
        path: "targets",
        stem: "UpstreamTarget",
        stems: "UpstreamTargets",
        itemParam: "target",
        methods: ["list", "create", "get", "update", "upsert", "delete"],
        examples: {
          create: [{ summary: "a target with its port", value: { target: "10.0.0.12:8080" } }],
          upsert: [{ summary: "create or replace by host:port (from the URL)", value: { weight: 50 } }],
          update: [{ summary: "take the target out of the rotation", value: { weight: 0 } }],
        },
      },
    ],
  },
  cli: {
    columns: [
      { header: "TARGET", value: (r) => r.target },
      { header: "WEIGHT", value: (r) => r.weight },
      { header: "UPSTREAM_ID", value: (r) => r.upstream.id },
      { header: "ID", value: (r) => r.id },
    ],
  },
});

export type Target = RecordOf<typeof targetEntity.fields>;
