// /routes and /routes/{route}/service.
import { RouteInput } from "../../model/route.ts";
import { entityOperations } from "../crud.ts";
import type { AdminDeps } from "../deps.ts";
import { json } from "../http.ts";
import { ref } from "../openapi.ts";
import type { Operation } from "../operation.ts";

export function routeOperations({ store }: AdminDeps): Operation[] {
  return [
    ...entityOperations(store, {
      kind: "routes",
      tag: "routes",
      noun: "route",
      nouns: "routes",
      stem: "Route",
      stems: "Routes",
      collection: "/routes",
      item: "/routes/:route",
      methods: ["list", "create", "get", "update", "upsert", "delete"],
      schemas: { input: "RouteInput", update: "RouteUpdate", output: "Route", inputSchema: RouteInput },
      examples: {
        create: [{ summary: "a route naming its service", value: { name: "orders-admin", service: { name: "orders" }, paths: ["/orders-admin"], strip_path: false } }],
        upsert: [{ summary: "replace the route", value: { service: { name: "orders" }, paths: ["/orders"], methods: ["GET", "POST", "DELETE"] } }],
        update: [{ summary: "only GET requests", value: { methods: ["GET"] } }],
      },
    }),
    {
      method: "GET",
      path: "/routes/:route/service",
      operationId: "getRouteService",
      tag: "routes",
      summary: "Get the service of a route",
      responses: { 200: { description: "the route's service", schema: ref("Service") } },
      handle: ({ params }) => json(200, store.get("services", store.get("routes", params.route!).service.id)),
    },
  ];
}
