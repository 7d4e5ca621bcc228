// request-transformer remove.body against upstreams that read JSON keys case-insensitively: Go's
// encoding/json fills a field tagged `json:"is_admin"` from `IS_ADMIN`, `Is_Admin` or `iſ_admin`
// (bytes.EqualFold, the last matching key in the body winning), and ASP.NET Core's
// System.Text.Json web defaults ignore case too. Through the real gateway to a Node upstream
// that echoes what it got, on the engine GATEWAY_PROXY_ENGINE names: no spelling such a reader
// takes for a removed field reaches it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type BodyRig, startBodyRig } from "../support/body-rig.ts";

/** The value a client smuggles; it must never reach the upstream. */
const SMUGGLED = "smuggled-admin-flag";
const JSON_TYPE = { "content-type": "application/json" };

/** The upstream body's top-level keys a simple-case-folding reader takes for `name` (JavaScript's /ui is that folding). */
function spellingsOf(name: string, body: Buffer): string[] {
  const reader = new RegExp(`^${name}$`, "iu");
  return Object.keys(JSON.parse(body.toString("utf8")) as object).filter((key) => reader.test(key));
}

describe("request-transformer remove.body: no spelling a case-folding JSON reader takes for the field reaches it", () => {
  let r: BodyRig;
  beforeAll(async () => {
    r = await startBodyRig((gateway, routeId) => {
      gateway.store.create("plugins", { name: "request-transformer", route: { id: routeId }, config: { remove: { body: ["is_admin", "api_key"] } } });
    });
  });
  afterAll(() => r.close());

  const spelt: [string, string, Record<string, string>][] = [
    ["IS_ADMIN", `{"IS_ADMIN":"${SMUGGLED}","note":"hi"}`, JSON_TYPE],
    ["Is_Admin", `{"Is_Admin":"${SMUGGLED}","note":"hi"}`, JSON_TYPE],
    ["iſ_admin (U+017F LATIN SMALL LETTER LONG S folds to s)", `{"i\u017f_admin":"${SMUGGLED}","note":"hi"}`, JSON_TYPE],
    ["API_\u212aEY (U+212A KELVIN SIGN folds to k)", `{"API_\u212aEY":"${SMUGGLED}","note":"hi"}`, JSON_TYPE],
    ["the name written with escapes in another case", `{"\\u0049S_\\u0041DMIN":"${SMUGGLED}","note":"hi"}`, JSON_TYPE],
    ["is_admin false, then Is_Admin (Go keeps the last)", `{"is_admin":false,"Is_Admin":"${SMUGGLED}"}`, JSON_TYPE],
    ["is_admin, IS_ADMIN, is_admin: the exact name first and last", `{"is_admin":"x","IS_ADMIN":"${SMUGGLED}","is_admin":"${SMUGGLED}"}`, JSON_TYPE],
    ["behind a UTF-8 byte order mark", `\uFEFF{"IS_ADMIN":"${SMUGGLED}","note":"hi"}`, JSON_TYPE],
    ["as application/vnd.api+json", `{"Is_Admin":"${SMUGGLED}","note":"hi"}`, { "content-type": "application/vnd.api+json" }],
  ];
  for (const [name, body, headers] of spelt) {
    test(`removed: ${name}`, async () => {
      const got = await r.send(body, { headers });
      expect(got.status).toBe(200);
      expect(got.body.toString("utf8")).not.toContain(SMUGGLED);
      expect([...spellingsOf("is_admin", got.body), ...spellingsOf("api_key", got.body)]).toEqual([]);
    });
  }

  test("chunked: every spelling is removed from a body sent in pieces", async () => {
    const got = await r.send(`{"IS_ADMIN":"${SMUGGLED}","note":"hi","Is_Admin":"${SMUGGLED}","i\u017f_admin":"${SMUGGLED}"}`, { headers: JSON_TYPE, chunked: true });
    expect({ status: got.status, body: JSON.parse(got.body.toString("utf8")) }).toEqual({ status: 200, body: { note: "hi" } });
  });

  test("names Go's folding keeps apart (İs_admin, ıs_admin) and fields inside other objects pass as sent", async () => {
    const body = '{"\u0130s_admin":1,"\u0131s_admin":2,"profile":{"IS_ADMIN":3}}';
    const got = await r.send(body, { headers: JSON_TYPE });
    expect({ status: got.status, body: got.body.toString("utf8") }).toEqual({ status: 200, body });
  });
});
