// Token names in other spellings a PHP (or Rack 2, or Python before 3.9.2) upstream reads as the
// configured name: each request carries a good token the gateway checks and a forged one (alg
// none, role admin) the upstream would read instead, so it must be 401 Multiple tokens provided.
// PHP is not installed here: phpName is PHP 8's name parsing, written from its C source, and
// each case first checks that PHP would read the forged token.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { craft, sign, signingKey } from "../support/auth.ts";
import { type TestGateway, startTestGateway } from "../support/gateway.ts";
import { rawRequest } from "../support/nginx.ts";

/** PHP 8's php_default_treat_data + php_register_variable_ex for one `name=value` pair (arrays left out). */
function phpName(raw: string, cookie: boolean): string {
  let name = cookie ? raw.replace(/^\s+/, "") : raw;
  name = Buffer.from(decodeURIComponent(escape(unescape(name.replace(/\+/g, " ")))), "utf8").toString("latin1"); // php_url_decode
  name = name.split("\0")[0]!; // C string
  name = name.replace(/^ +/, ""); // "ignore leading spaces in the variable name"
  const open = name.indexOf("[");
  if (open >= 0 && name.indexOf("]", open) < 0) name = name.slice(0, open) + "_" + name.slice(open + 1).replace(/[ .[]/g, "_");
  return name.replace(/[ .]/g, "_");
}
/** $_GET[name] (last wins) or $_COOKIE[name] (first wins), as PHP reads the forwarded request. */
function phpRead(pairs: string, separator: string, name: string, cookie: boolean): string | undefined {
  let found: string | undefined;
  for (const pair of pairs.split(separator)) {
    const eq = pair.indexOf("=");
    if (eq < 0) continue;
    if (phpName(pair.slice(0, eq), cookie) !== name) continue;
    if (cookie && found !== undefined) continue;
    found = pair.slice(eq + 1).trim();
  }
  return found;
}

let gateway: TestGateway;
let seen: { url: string; cookie: string | null }[] = [];
const upstream = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (r) => (seen.push({ url: r.url, cookie: r.headers.get("cookie") }), new Response("ok")) });
let good = "";
const forged = craft({ alg: "none" }, { iss: "alice-key", sub: "alice", role: "admin" }, "");

beforeAll(async () => {
  gateway = startTestGateway();
  gateway.store.create("services", { name: "up", url: `http://127.0.0.1:${upstream.port}` });
  const dflt = gateway.store.create("routes", { name: "dflt", service: { name: "up" }, paths: ["/dflt"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: dflt.id }, config: {} });
  const custom = gateway.store.create("routes", { name: "custom", service: { name: "up" }, paths: ["/custom"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: custom.id }, config: { uri_param_names: ["my_jwt"], cookie_names: ["my_jwt"] } });
  const hidden = gateway.store.create("routes", { name: "hidden", service: { name: "up" }, paths: ["/hidden"] });
  gateway.store.create("plugins", { name: "jwt", route: { id: hidden.id }, config: { hide_credentials: true } });
  const hs = await signingKey("HS256");
  const alice = gateway.store.create("consumers", { username: "alice" });
  gateway.store.create("jwt_secrets", { key: "alice-key", ...hs.credential }, { kind: "consumers", id: alice.id });
  good = await sign(hs, { iss: "alice-key", sub: "alice" });
  await Bun.sleep(250);
});
afterAll(async () => {
  await gateway.close();
  upstream.stop(true);
});

const status = async (target: string, fields = "") =>
  (await rawRequest(gateway.proxy.port, `GET ${target} HTTP/1.1\r\nHost: a\r\n${fields}Connection: close\r\n\r\n`, 800, "latin1")).split("\r\n")[0];

describe("query names PHP reads as the token's parameter (default uri_param_names [jwt] included)", () => {
  const cases = [
    ["/dflt", "jwt", "jwt={G}&jwt%00={F}"], // NUL ends PHP's name: $_GET['jwt']
    ["/dflt", "jwt", "jwt={G}&+jwt={F}"], // leading space dropped
    ["/dflt", "jwt", "jwt={G}&%20jwt={F}"],
    ["/custom", "my_jwt", "my_jwt={G}&my.jwt={F}"], // . and space are _
    ["/custom", "my_jwt", "my_jwt={G}&my+jwt={F}"],
    ["/custom", "my_jwt", "my_jwt={G}&my%5Bjwt={F}"], // an unclosed [ is _
  ] as const;
  test.each(cases)("%s?%s: PHP's $_GET gets the forged token; the gateway must refuse (401), not forward", async (path, name, query) => {
    const q = query.replace("{G}", good).replace("{F}", forged);
    expect(phpRead(q, "&", name, false)).toBe(forged); // what a PHP upstream would read
    expect(await status(`${path}?${q}`)).toBe("HTTP/1.1 401 Unauthorized");
  });
});

describe("cookie names PHP reads as cookie_names my_jwt (first wins in $_COOKIE)", () => {
  test.each([
    "my+jwt={F}; my_jwt={G}", // + is a space in PHP's decoding of the name
    "my[jwt={F}; my_jwt={G}",
    "my%5Bjwt={F}; my_jwt={G}",
    "%20my_jwt={F}; my_jwt={G}",
    "my_jwt%00x={F}; my_jwt={G}",
  ])("Cookie: %s", async (cookie) => {
    const c = cookie.replace("{G}", good).replace("{F}", forged);
    expect(phpRead(c, ";", "my_jwt", true)).toBe(forged);
    expect(await status("/custom", `Cookie: ${c}\r\n`)).toBe("HTTP/1.1 401 Unauthorized");
  });
});

describe("query names qs (Express's default) and Rack 2 read as jwt: leading brackets dropped", () => {
  test.each(["[jwt]", "%5Bjwt%5D", "[jwt]x", "]jwt"])("?%s=<forged> beside a good Bearer token → 401", async (name) => {
    expect(await status(`/dflt?${name}=${forged}`, `Authorization: Bearer ${good}\r\n`)).toBe("HTTP/1.1 401 Unauthorized");
  });
  test("hide_credentials: ?jwt=<good>&[jwt]=<good> reaches the upstream with neither", async () => {
    seen = [];
    expect(await status(`/hidden?jwt=${good}&[jwt]=${good}&b=2`)).toBe("HTTP/1.1 200 OK");
    expect(seen.map((each) => new URL(each.url).search)).toEqual(["?b=2"]);
  });
  test("a bracket elsewhere names another parameter: ?filter[jwt]=x beside a good token is not a token", async () => {
    expect(await status(`/dflt?filter[jwt]=x`, `Authorization: Bearer ${good}\r\n`)).toBe("HTTP/1.1 200 OK");
  });
});

describe("separators other parsers split on", () => {
  test("`;` in the query (Rack 2's '&;', Python < 3.9.2 parse_qs, last wins): ?jwt=G&x=1;jwt=F", async () => {
    expect(await status(`/dflt?jwt=${good}&x=1;jwt=${forged}`)).toBe("HTTP/1.1 401 Unauthorized");
  });
  test("`,` between cookies (Rack <= 2.1 splits on [;,], first wins): Cookie: x=1, my_jwt=F; my_jwt=G", async () => {
    expect(await status("/custom", `Cookie: x=1, my_jwt=${forged}; my_jwt=${good}\r\n`)).toBe("HTTP/1.1 401 Unauthorized");
  });
});

describe("legitimate requests still pass", () => {
  test("hide_credentials removes the token under each spelling it came in", async () => {
    seen = [];
    expect(await status(`/hidden?a=1&jwt=${good}&jwt%00%ff=${good}&%20jwt=${good}`)).toBe("HTTP/1.1 200 OK");
    expect(seen.map((each) => new URL(each.url).search)).toEqual(["?a=1"]);
  });

  test("the good token alone, in query and cookie", async () => {
    expect(await status(`/dflt?jwt=${good}`)).toBe("HTTP/1.1 200 OK");
    expect(await status(`/custom?my_jwt=${good}&other=1`)).toBe("HTTP/1.1 200 OK");
    expect(await status("/custom", `Cookie: a=1; my_jwt=${good}; b=2\r\n`)).toBe("HTTP/1.1 200 OK");
  });
});
