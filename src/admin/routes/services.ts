// /services and /services/{service}/routes.
import { ServiceInput } from "../../model/service.ts";
import { RouteInput } from "../../model/route.ts";
import { entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import type { Operation } from "../operation.ts";

export function serviceOperations({ store }: AdminDeps): Operation[] {
  return [
    ...entityOperations(store, {
      kind: "services",
      tag: "services",
      noun: "service",
      nouns: "services",
      stem: "Service",
      stems: "Services",
      collection: "/services",
      item: "/services/:service",
      methods: ["list", "create", "get", "update", "upsert", "delete"],
      schemas: { input: "ServiceInput", update: "ServiceUpdate", output: "Service", inputSchema: ServiceInput },
      examples: {
        create: [{ summary: "an upstream given by URL", value: { name: "orders", url: "http://orders.internal:8080" } }],
        upsert: [{ summary: "replace the upstream (the name comes from the URL)", value: { url: "http://orders.internal:8080", read_timeout: 30000 } }],
        update: [{ summary: "a shorter read timeout", value: { read_timeout: 15000 } }],
      },
      deleteQuery: [{ name: "cascade", description: "also delete the service's routes; without it a service that has routes is not deleted (409)", schema: { type: "boolean", default: false }, example: false }],
      deleteErrors: [409],
      deleteDescription: "A service that still has routes is refused with 409 unless `?cascade=true`. Deleting a service that does not exist is a 404 (Kong answers 204).",
    }),
    ...entityOperations(store, {
      kind: "routes",
      tag: "routes",
      noun: "route",
      nouns: "routes",
      stem: "ServiceRoute",
      stems: "ServiceRoutes",
      collection: "/services/:service/routes",
      parent: { kind: "services", param: "service" },
      methods: ["list", "create"],
      schemas: { input: "RouteInput", update: "RouteUpdate", output: "Route", inputSchema: RouteInput },
      examples: { create: [{ summary: "a path-prefix route to the service", value: { name: "orders-api", paths: ["/orders"], methods: ["GET", "POST"] } }] },
    }),
  ];
}
