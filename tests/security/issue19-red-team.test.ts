// Issue 19's red team: request bodies for plugins (key-auth key_in_body, request-transformer
// body operations), the upstream query, replace.uri / http_method and the log phase, attacked
// through the real gateway against real upstreams (a Node `http` server that echoes the bytes
// it got, a raw byte recorder), on the engine GATEWAY_PROXY_ENGINE names. Findings and their
// fixes: issue19-red-team.md beside this file.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BodyRig, startBodyRig } from "../support/body-rig.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { startByteRecorder, talk } from "../support/raw-socket.ts";

const RAW_ENGINE = process.env.GATEWAY_PROXY_ENGINE === "raw";
const KEY = "alice-secret-key-0123456789";
/** The value a client smuggles; it must never reach the upstream. */
const SMUGGLED = "smuggled-admin-flag";
const BOUNDARY = "redteamBoundary19";
const MULTIPART = { "content-type": `multipart/form-data; boundary=${BOUNDARY}` };
const FORM = { "content-type": "application/x-www-form-urlencoded" };
const JSON_TYPE = { "content-type": "application/json" };

/** A multipart body of parts given by their Content-Disposition (and any further header lines) and value. */
function multipart(parts: [disposition: string, value: string][]): string {
  let text = "";
  for (const [disposition, value] of parts) text += `--${BOUNDARY}\r\n${disposition}\r\n\r\n${value}\r\n`;
  return `${text}--${BOUNDARY}--\r\n`;
}

describe("request-transformer remove.body: a field the upstream reads under the removed name never reaches it", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await startBodyRig((gateway, routeId) => {
      gateway.store.create("plugins", { name: "request-transformer", route: { id: routeId }, config: { remove: { body: ["is_admin"] } } });
    });
  });
  afterAll(() => r.close());

  const cases: [string, string, Record<string, string>][] = [
    // Werkzeug (Flask) and python-multipart read RFC 2231's `name*` as the name.
    ["multipart: name*=UTF-8''is_admin (RFC 2231)", multipart([["Content-Disposition: form-data; name*=UTF-8''is_admin", SMUGGLED]]), MULTIPART],
    // Werkzeug's and busboy's parameter maps keep the last of a repeated parameter.
    ["multipart: name=\"note\"; name=\"is_admin\"", multipart([['Content-Disposition: form-data; name="note"; name="is_admin"', SMUGGLED]]), MULTIPART],
    ["multipart: a second Content-Disposition naming is_admin", multipart([['Content-Disposition: form-data; name="note"\r\nContent-Disposition: form-data; name="is_admin"', SMUGGLED]]), MULTIPART],
    ["multipart: NAME=is_admin, unquoted, upper case", multipart([["content-disposition: form-data; NAME=is_admin", SMUGGLED]]), MULTIPART],
    ["multipart: name=\"is_admin\" beside a filename", multipart([['Content-Disposition: form-data; filename="a.txt"; name="is_admin"', SMUGGLED]]), MULTIPART],
    // Express's body-parser (iconv-lite) and Python's json.loads(bytes) skip a UTF-8 byte order mark.
    ["JSON behind a UTF-8 byte order mark", `\uFEFF${JSON.stringify({ note: "hi", is_admin: SMUGGLED })}`, JSON_TYPE],
    ["JSON: the field twice (the last one is what JSON.parse and most upstreams read)", `{"is_admin":"x","is_admin":"${SMUGGLED}"}`, JSON_TYPE],
    ["JSON: the name written with escapes", `{"is\\u005fadmin":"${SMUGGLED}"}`, JSON_TYPE],
    ["urlencoded: the name percent-encoded", `is%5Fadmin=${SMUGGLED}`, FORM],
    ["urlencoded: the field repeated", `is_admin=${SMUGGLED}&a=1&is_admin=${SMUGGLED}`, FORM],
    ["content type in upper case with parameters", `is_admin=${SMUGGLED}`, { "content-type": "APPLICATION/X-WWW-FORM-URLENCODED ; charset=UTF-8" }],
  ];
  for (const [name, body, headers] of cases) {
    test(name, async () => {
      const got = await r.send(body, { headers });
      expect(got.status).toBe(200);
      expect(got.body.toString("latin1")).not.toContain(SMUGGLED);
    });
  }

  test("chunked: the same body in pieces is transformed as well", async () => {
    const got = await r.send(multipart([['Content-Disposition: form-data; name="note"; name="is_admin"', SMUGGLED]]), { headers: MULTIPART, chunked: true });
    expect(got.status).toBe(200);
    expect(got.body.toString("latin1")).not.toContain(SMUGGLED);
  });

  test("a JSON __proto__ field stays a field, and the removed one is gone", async () => {
    const got = await r.send(`{"__proto__":{"is_admin":true},"is_admin":"${SMUGGLED}"}`, { headers: JSON_TYPE });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body.toString("utf8"))).toEqual(JSON.parse('{"__proto__":{"is_admin":true}}'));
  });
});

describe("key-auth hide_credentials: the key is never forwarded in a spelling the upstream reads", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await startBodyRig((gateway, routeId) => {
      const alice = gateway.store.create("consumers", { username: "alice" });
      gateway.store.create("keyauth_credentials", { key: KEY }, { kind: "consumers", id: alice.id });
      gateway.store.create("plugins", { name: "key-auth", route: { id: routeId }, config: { key_in_body: true, hide_credentials: true } });
    });
  });
  afterAll(() => r.close());

  test("key in the header, and again in a multipart part named apikey only by name*: neither reaches the upstream", async () => {
    const got = await r.send(multipart([["Content-Disposition: form-data; name*=UTF-8''apikey", KEY]]), { headers: { ...MULTIPART, apikey: KEY } });
    expect(got.status).toBe(200);
    expect(got.header("apikey")).toEqual([]);
    expect(got.body.toString("latin1")).not.toContain(KEY);
  });

  test("key in the query spelt api%6Bey: authenticated, and removed from the upstream's query", async () => {
    const got = await r.send(null, { method: "GET", path: `/api?a=1&api%6Bey=${KEY}` });
    expect(got.status).toBe(200);
    expect(got.text).not.toContain(KEY);
  });

  test("key in a JSON body behind a byte order mark: read as Express reads it, and hidden", async () => {
    const got = await r.send(`\uFEFF${JSON.stringify({ apikey: KEY, note: "hi" })}`, { headers: JSON_TYPE });
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body.toString("utf8"))).toEqual({ note: "hi" });
  });
});
