// /config: the whole state as one declarative document. GET exports it as stored (private keys
// left out, env vault references as written, never their values); POST validates a document in
// full and swaps it in with one transaction, or changes nothing.
import { exportDeclarative, parseDeclarative } from "../../config/declarative.ts";
import { BadRequestError, GatewayError, ValidationError, describeError } from "../../errors.ts";
import { clipQuoted } from "../../entities/quote.ts";
import { rowsOf } from "../../state/data.ts";
import type { AdminDeps } from "../deps.ts";
import { CONFIG_EXAMPLE } from "../examples.ts";
import { json, text } from "../http.ts";
import type { Operation } from "../operation.ts";

export function configOperations({ store, state, registry }: AdminDeps): Operation[] {
  const names = store.entities.map((entity) => entity.name);
  const countsSchema = { type: "object", properties: Object.fromEntries(names.map((name) => [name, { type: "integer" }])) };
  return [
    {
      method: "GET",
      path: "/config",
      operationId: "exportConfig",
      tag: "config",
      summary: "Export the configuration",
      description:
        "The whole state in the declarative format. Keystore keys are exported with their public JWK only; importing the export keeps the private halves the gateway already holds. Values given as `{vault://env/NAME}` references are exported as those references, never as the values they resolve to.",
      query: [{ name: "format", description: "yaml (default) or json", schema: { type: "string", enum: ["yaml", "json"], default: "yaml" }, example: "yaml" }],
      responses: {
        200: {
          description: "the configuration document",
          mediaType: "application/yaml",
          schema: { type: "string" },
          example: CONFIG_EXAMPLE,
        },
      },
      handle: ({ url }) => {
        const format = url.searchParams.get("format") ?? "yaml";
        if (format !== "yaml" && format !== "json") throw new ValidationError({ format: "must be yaml or json" });
        const document = exportDeclarative(store.loadStored(), { format, includePrivateKeys: false });
        return text(200, document, format === "json" ? "application/json; charset=utf-8" : "application/yaml; charset=utf-8");
      },
    },
    {
      method: "POST",
      path: "/config",
      operationId: "importConfig",
      tag: "config",
      summary: "Replace the whole configuration",
      description:
        "Validates the document in full, then replaces every entity in one transaction. If anything is wrong, nothing changes and the answer names the entity, its position and the field. Allowed in declarative mode too (until the file is reloaded).",
      body: { kind: "config", examples: [{ summary: "a service with a route and a consumer with a credential", value: CONFIG_EXAMPLE }] },
      responses: {
        201: {
          description: "the configuration was replaced",
          schema: { type: "object", required: ["message", "config_version", "counts"], properties: { message: { type: "string" }, config_version: { type: "integer" }, counts: countsSchema } },
        },
      },
      errors: [409],
      handle: ({ body }) => {
        let next;
        try {
          next = parseDeclarative(body as string, registry, { previous: store.loadStored(), entities: store.entities });
        } catch (error) {
          if (error instanceof GatewayError) throw error;
          throw new BadRequestError(`invalid configuration: ${clipQuoted(describeError(error))}`);
        }
        store.replaceAll(next);
        const counts = Object.fromEntries(names.map((name) => [name, rowsOf(next, name).length]));
        return json(201, { message: "configuration replaced", config_version: state.current.version, counts });
      },
    },
  ];
}
