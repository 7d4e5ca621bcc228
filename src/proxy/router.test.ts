// The router's precedence (README "Route matching"), asked directly of a compiled router: no
// listener, no upstream.
import { describe, expect, test } from "bun:test";
import { MEMORY } from "../db/connection.ts";
import { openCore } from "../gateway.ts";
import { canonicalHost } from "./canonical-host.ts";

function routerOf(routes: Record<string, unknown>[]) {
  const core = openCore({ db: MEMORY });
  core.store.create("services", { name: "s", url: "http://127.0.0.1:9" });
  for (const route of routes) core.store.create("routes", { service: { name: "s" }, ...route });
  const router = core.state.current.router;
  return (method: string, host: string, path: string, headers: Record<string, string> | [string, string][] = {}) => {
    const match = router.match(method, canonicalHost(host)!, path, new Headers(headers));
    return match ? `${match.target.route.name}:${match.matched}` : null;
  };
}

describe("route precedence", () => {
  test("the longest matching prefix wins, whatever the order of creation", () => {
    const match = routerOf([
      { name: "short", paths: ["/a"] },
      { name: "long", paths: ["/a/b"] },
    ]);
    expect(match("GET", "x", "/a/b/c")).toBe("long:/a/b");
    expect(match("GET", "x", "/a/c")).toBe("short:/a");
    expect(match("GET", "x", "/b")).toBeNull();
  });

  test("prefixes before regex paths, regex paths by regex_priority, then routes without paths", () => {
    const match = routerOf([
      { name: "low", paths: ["~/items/\\d+"], regex_priority: 1 },
      { name: "high", paths: ["~/items/[0-9]+$"], regex_priority: 5 },
      { name: "prefix", paths: ["/items/7"] },
      { name: "pathless", methods: ["GET"] },
    ]);
    expect(match("GET", "x", "/items/7")).toBe("prefix:/items/7");
    expect(match("GET", "x", "/items/12")).toBe("high:/items/12");
    expect(match("GET", "x", "/items/12/x")).toBe("low:/items/12");
    expect(match("GET", "x", "/other")).toBe("pathless:");
    expect(match("POST", "x", "/other")).toBeNull();
  });

  test("among equals: exact host, then wildcard host, then no host; a method restriction beats none", () => {
    const match = routerOf([
      { name: "any", paths: ["/"] },
      { name: "wild", paths: ["/"], hosts: ["*.example.com"] },
      { name: "exact", paths: ["/"], hosts: ["api.example.com"] },
      { name: "exact-get", paths: ["/"], hosts: ["api.example.com"], methods: ["GET"] },
    ]);
    expect(match("GET", "api.example.com", "/")).toBe("exact-get:/");
    expect(match("POST", "api.example.com", "/")).toBe("exact:/");
    expect(match("GET", "www.example.com", "/")).toBe("wild:/");
    expect(match("GET", "example.com", "/")).toBe("any:/");
  });

  test("hosts match whatever their case, trailing dot or port", () => {
    const match = routerOf([{ name: "plain", paths: ["/"], hosts: ["API.Example.com"] }]);
    expect(match("GET", "api.example.com.", "/")).toBe("plain:/");
    expect(match("GET", "API.EXAMPLE.COM:80", "/")).toBe("plain:/");
    expect(match("GET", "api.example.com:8443", "/")).toBe("plain:/");
  });

  test("among equals the older route wins", () => {
    const match = routerOf([
      { name: "first", paths: ["/same"] },
      { name: "second", paths: ["/same"] },
    ]);
    expect(match("GET", "x", "/same")).toBe("first:/same");
  });
});

describe("route headers (Kong 3)", () => {
  test("a header condition: the name in any case, any listed value compared case-insensitively", () => {
    const match = routerOf([{ name: "v2", paths: ["/api"], headers: { "X-Version": ["v2", "V3"] } }, { name: "plain", paths: ["/api"] }]);
    expect(match("GET", "x", "/api", { "x-version": "V2" })).toBe("v2:/api");
    expect(match("GET", "x", "/api", { "X-VERSION": "v3" })).toBe("v2:/api");
    expect(match("GET", "x", "/api", { "x-version": "v4" })).toBe("plain:/api");
    expect(match("GET", "x", "/api")).toBe("plain:/api");
  });

  test("every named header must match; a lone ~* value is a regex on the lower-cased value", () => {
    const match = routerOf([{ name: "both", headers: { "x-a": ["~*^beta-\\d+$"], "x-b": ["yes"] } }]);
    expect(match("GET", "x", "/", { "x-a": "BETA-12", "x-b": "YES" })).toBe("both:");
    expect(match("GET", "x", "/", { "x-a": "beta-12" })).toBeNull();
    expect(match("GET", "x", "/", { "x-a": "beta-x", "x-b": "yes" })).toBeNull();
  });

  test("as in Kong: a ~* value among others is a plain value; an upper-case pattern never matches", () => {
    const match = routerOf([
      { name: "listed", paths: ["/l"], headers: { "x-a": ["~*^b", "c"] } },
      { name: "upper", paths: ["/u"], headers: { "x-a": ["~*^B"] } },
    ]);
    expect(match("GET", "x", "/l", { "x-a": "b1" })).toBeNull();
    expect(match("GET", "x", "/l", { "x-a": "~*^B" })).toBe("listed:/l");
    expect(match("GET", "x", "/u", { "x-a": "B1" })).toBeNull();
  });

  test("a header sent twice matches by either of its values", () => {
    const match = routerOf([{ name: "h", paths: ["/"], headers: { "x-tenant": ["blue"] } }]);
    expect(match("GET", "x", "/", [["x-tenant", "red"], ["x-tenant", "blue"]])).toBe("h:/");
    expect(match("GET", "x", "/", [["x-tenant", "red"], ["x-tenant", "green"]])).toBeNull();
  });

  test("more header conditions win over fewer on the same prefix, whatever the order of creation", () => {
    const match = routerOf([
      { name: "none", paths: ["/p"] },
      { name: "one", paths: ["/p"], headers: { "x-a": ["1"] } },
      { name: "two", paths: ["/p"], headers: { "x-a": ["1"], "x-b": ["2"] } },
    ]);
    expect(match("GET", "x", "/p", { "x-a": "1", "x-b": "2" })).toBe("two:/p");
    expect(match("GET", "x", "/p", { "x-a": "1" })).toBe("one:/p");
  });
});
