// Writes the state back out in the declarative format: services with nested routes, consumers
// with nested credentials and ACLs, plugins at top level by id. Private keys only on request.
import YAML from "yaml";
import type { StateData } from "../state/data.ts";

export interface ExportOptions {
  format: "yaml" | "json";
  includePrivateKeys?: boolean;
}

const omit = (entity: object, ...fields: string[]) =>
  Object.fromEntries(Object.entries(entity).filter(([key, value]) => !fields.includes(key) && value !== null)) as Record<string, unknown>;

const WRITTEN_BY_GATEWAY = ["created_at", "updated_at"];

export function exportDocument(data: StateData, options: Pick<ExportOptions, "includePrivateKeys"> = {}): Record<string, unknown> {
  const document: Record<string, unknown> = { _format_version: "3.0" };
  document.services = data.services.map((service) => ({
    ...omit(service, ...WRITTEN_BY_GATEWAY),
    routes: data.routes.filter((route) => route.service.id === service.id).map((route) => omit(route, "service", ...WRITTEN_BY_GATEWAY)),
  }));
  document.consumers = data.consumers.map((consumer) => ({
    ...omit(consumer, ...WRITTEN_BY_GATEWAY),
    jwt_secrets: data.jwt_secrets.filter((c) => c.consumer.id === consumer.id).map((c) => omit(c, "consumer", ...WRITTEN_BY_GATEWAY)),
    acls: data.acls.filter((a) => a.consumer.id === consumer.id).map((a) => omit(a, "consumer", ...WRITTEN_BY_GATEWAY)),
  }));
  document.plugins = data.plugins.map((plugin) => {
    const out = omit(plugin, ...WRITTEN_BY_GATEWAY, "service", "route", "consumer");
    if (plugin.service) out.service = plugin.service.id;
    if (plugin.route) out.route = plugin.route.id;
    if (plugin.consumer) out.consumer = plugin.consumer.id;
    return out;
  });
  document.keys = data.keys.map((key) =>
    options.includePrivateKeys && key.private_jwk ? omit(key, ...WRITTEN_BY_GATEWAY, "public_jwk") : omit(key, ...WRITTEN_BY_GATEWAY, "private_jwk"),
  );
  return document;
}

export function exportDeclarative(data: StateData, options: ExportOptions): string {
  const document = exportDocument(data, options);
  return options.format === "json" ? `${JSON.stringify(document, null, 2)}\n` : YAML.stringify(document, { lineWidth: 0 });
}
