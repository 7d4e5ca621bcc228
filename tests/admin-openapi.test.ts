// The OpenAPI document: valid OpenAPI 3.1, complete (every route, parameter, body, response and
// error), and honest (every documented request example is accepted by the API, in order).
import SwaggerParser from "@apidevtools/swagger-parser";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { adminOperations } from "../src/admin/server.ts";
import { builtinPlugins } from "../plugins/index.ts";
import { type AdminHarness, documentedOperations, openAdmin, sendDocumentedExamples, testRegistry } from "./admin-harness.ts";

let admin: AdminHarness;
let doc: any;
beforeAll(async () => {
  admin = openAdmin();
  doc = (await admin.call("GET", "/docs/json")).body;
});
afterAll(() => admin.close());

const openApiPath = (path: string) => path.replace(/:(\w+)/g, "{$1}");

describe("OpenAPI document", () => {
  test("passes a standard OpenAPI 3 validator", async () => {
    const validated = await SwaggerParser.validate(structuredClone(doc));
    expect((validated as { openapi?: string }).openapi).toBe("3.1.0");
    expect(doc.info.version).toBe("0.0.0-test");
  });

  test("documents every route the app serves, and nothing else", () => {
    const served = adminOperations(admin.deps).map((operation) => `${operation.method} ${openApiPath(operation.path)}`).sort();
    const documented = [...documentedOperations(doc)].map(({ path, method }) => `${method.toUpperCase()} ${path}`).sort();
    expect(documented).toEqual(served);
    expect(served.length).toBeGreaterThan(60);
  });

  test("every operation has an id, a summary, its path parameters with examples, and its errors", () => {
    const ids = new Set<string>();
    for (const { path, method, operation } of documentedOperations(doc)) {
      const where = `${method} ${path}`;
      expect({ where, id: typeof operation.operationId }).toEqual({ where, id: "string" });
      expect(ids.has(operation.operationId)).toBe(false);
      ids.add(operation.operationId);
      expect(operation.summary.length).toBeGreaterThan(5);
      const pathParams = [...path.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      for (const name of pathParams) {
        const parameter = operation.parameters.find((p: any) => p.in === "path" && p.name === name);
        expect({ where, name, described: Boolean(parameter?.description), example: typeof parameter?.example }).toEqual({ where, name, described: true, example: "string" });
      }
      const statuses = Object.keys(operation.responses);
      expect(statuses.some((status) => status.startsWith("2"))).toBe(true);
      expect(statuses).toContain("401");
      if (pathParams.length) expect(statuses).toContain("404");
      if (operation.requestBody) expect(statuses).toEqual(expect.arrayContaining(["400", "413", "415"]));
      if (["post", "put", "patch", "delete"].includes(method) && path !== "/config") expect({ where, statuses }).toEqual({ where, statuses: expect.arrayContaining(["405"]) });
      for (const status of statuses) {
        const response = operation.responses[status];
        if (response.$ref) expect(doc.components.responses[response.$ref.split("/").pop()]).toBeDefined();
        else expect(response.description.length).toBeGreaterThan(0);
      }
      if (operation.requestBody) {
        const examples = Object.values<any>(Object.values<any>(operation.requestBody.content)[0].examples ?? {});
        expect({ where, examples: examples.length }).toEqual({ where, examples: 1 });
      }
    }
  });

  test("error responses carry a JSON example of the error body", () => {
    for (const [name, response] of Object.entries<any>(doc.components.responses)) {
      const content = response.content["application/json"];
      expect({ name, ref: content.schema.$ref }).toEqual({ name, ref: "#/components/schemas/Error" });
      expect(typeof content.example.message).toBe("string");
    }
  });

  test("each plugin's config schema is published", () => {
    expect(doc.components.schemas["PluginConfig-test-stamp"].properties.ttl.type).toBe("integer");
  });
});

describe("documented examples", () => {
  test.each([
    ["the test plugins", testRegistry],
    ["the shipped plugins only", builtinPlugins],
  ])("with %s, every documented request example is accepted when sent in dependency order to a fresh store", async (_, registry) => {
    const fresh = openAdmin({ registry });
    try {
      const freshDoc = (await fresh.call("GET", "/docs/json")).body;
      expect(await sendDocumentedExamples(fresh, freshDoc)).toEqual({});
      expect(fresh.core.store.count("consumers")).toBe(1);
    } finally {
      fresh.close();
    }
  });
});

describe("Swagger UI", () => {
  test("/docs is a page that loads only local assets, and each asset is served", async () => {
    const page = await admin.call("GET", "/docs");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.text).not.toMatch(/https?:\/\//);
    const assets = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
    expect(assets).toEqual(expect.arrayContaining(["/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js"]));
    expect(page.text).toContain('url: "/docs/json"');
    for (const asset of assets) {
      const reply = await admin.app.handle(new Request(`http://localhost${asset}`));
      expect({ asset, status: reply.status }).toEqual({ asset, status: 200 });
      expect((await reply.arrayBuffer()).byteLength).toBeGreaterThan(500);
    }
  });
});
