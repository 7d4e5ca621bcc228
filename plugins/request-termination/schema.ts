// The request-termination plugin's config: Kong 3.x's fields, defaults and entity checks.
import type { Static } from "@sinclair/typebox";
import { t } from "../../src/entities/t.ts";
import type { FieldErrors } from "../../src/errors.ts";

const nullableString = (description: string, options: { maxLength?: number } = {}) =>
  t.Optional(t.Union([t.String({ minLength: 1, maxLength: options.maxLength ?? 4096 }), t.Null()], { default: null, description }));

export const RequestTerminationConfigSchema = t.Object(
  {
    status_code: t.Optional(t.Integer({ minimum: 100, maximum: 599, default: 503, description: "status of the answer" })),
    message: nullableString("answer `{\"message\": <message>}` (default: Kong's message for the status, e.g. `Service unavailable` for 503)"),
    body: nullableString("raw body of the answer (cannot go with message)", { maxLength: 1048576 }),
    content_type: nullableString("Content-Type of `body`", { maxLength: 256 }),
    echo: t.Optional(t.Boolean({ default: false, description: "answer with a JSON echo of the request, the matched route and the matched service" })),
    trigger: t.Optional(
      t.Union([t.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), t.Null()], {
        default: null,
        description: "terminate only requests carrying this header or query argument (any value); others pass",
      }),
    ),
  },
  { additionalProperties: false, examples: [{ status_code: 403, message: "Access is forbidden." }] },
);

export type RequestTerminationConfig = Required<Static<typeof RequestTerminationConfigSchema>>;

/** Kong's entity checks, with its messages. */
export function checkRequestTerminationConfig(config: RequestTerminationConfig): FieldErrors | undefined {
  const fields: FieldErrors = {};
  if (config.status_code < 200) fields.status_code = "an informational status (1xx) cannot end a request";
  if (config.message !== null && config.body !== null) fields.message = "message cannot be used with content_type or body";
  if (config.content_type !== null && config.body === null) fields.content_type = "content_type requires a body";
  if (config.echo && (config.content_type !== null || config.body !== null)) fields.echo = "echo cannot be used with content_type and body";
  return Object.keys(fields).length ? fields : undefined;
}
