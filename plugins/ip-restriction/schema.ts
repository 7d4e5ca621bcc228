// The ip-restriction plugin's config: Kong 3.x's fields and defaults.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";
import { invalidAddressEntry } from "../../src/proxy/client-address.ts";

const list = (description: string) => t.Optional(t.Union([t.Array(t.String({ minLength: 1 })), t.Null()], { default: null, description }));

export const IpRestrictionConfigSchema = t.Object(
  {
    allow: list("IPs and CIDRs (v4, v6) allowed; any other client is refused"),
    deny: list("IPs and CIDRs refused (checked first)"),
    status: t.Optional(t.Union([t.Integer({ minimum: 100, maximum: 599 }), t.Null()], { default: null, description: "status of the refusal (null: 403)" })),
    message: t.Optional(t.Union([t.String(), t.Null()], { default: null, description: "message of the refusal (null: Your IP address is not allowed)" })),
  },
  { additionalProperties: false, examples: [{ allow: ["10.0.0.0/8", "2001:db8::/32"] }, { deny: ["203.0.113.7"], status: 401, message: "go away" }] },
);

export type IpRestrictionConfig = Required<Static<typeof IpRestrictionConfigSchema>>;

export function checkIpRestrictionConfig(config: IpRestrictionConfig): FieldErrors | undefined {
  if (!config.allow?.length && !config.deny?.length) return { "@entity": "at least one of these fields must be non-empty: 'config.allow', 'config.deny'" };
  const errors: FieldErrors = {};
  for (const field of ["allow", "deny"] as const) {
    for (const entry of config[field] ?? []) {
      const invalid = invalidAddressEntry(entry);
      if (invalid) errors[`config.${field}`] ??= invalid;
    }
  }
  return Object.keys(errors).length ? errors : undefined;
}
