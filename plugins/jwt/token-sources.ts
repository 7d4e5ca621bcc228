// Finds the token of a request the way Kong does: query parameters, then cookies, then headers
// (`Bearer <token>`), identical values counted once, two different values refused. Also removes
// the token from where it was found (hide_credentials).
import { bearerToken, hasBearerScheme } from "../../src/http/bearer.ts";
import type { HeaderFields, RequestContext } from "../../src/pipeline/contract.ts";
import { bracketName, phpName } from "../../src/http/parameter-names.ts";
import { cgiSpelling } from "../../src/proxy/client-headers.ts";

export interface TokenSource {
  readonly kind: "query" | "cookie" | "header";
  readonly name: string;
}

export interface FoundToken {
  readonly token: string;
  /** Where the token was found; recorded only when it is to be hidden. */
  readonly sources: readonly TokenSource[] | null;
}

export type TokenSearchFailure = "missing" | "multiple" | "unrecognizable";

/** A query parameter without `=` (Kong's value `true`): a token that is not a string. */
const NOT_A_STRING = Symbol("not a string");
type Candidate = string | typeof NOT_A_STRING;

// Characters of a raw query or cookie name that upstreams read another way (decoding, PHP's
// folding, qs's brackets): a name without any is compared as it is.
const READ_ANOTHER_WAY = /[%+.[\]\0 ]/;

/**
 * True when the raw name is one of `names` (in `configuredSpelling`) as an upstream reads it:
 * percent-decoded byte for byte with `+` a space (PHP decodes cookie names too, as Rack does),
 * then as itself, as PHP's name, or as qs's for a leading bracket (`[jwt]`).
 */
function isOneOf(raw: string, names: ReadonlySet<string>): boolean {
  if (!READ_ANOTHER_WAY.test(raw)) return names.has(raw);
  let decoded = raw.includes("+") ? raw.replace(/\+/g, " ") : raw;
  if (decoded.includes("%")) decoded = decoded.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const bracketed = bracketName(decoded);
  return names.has(phpName(decoded)) || (bracketed !== null && names.has(bracketed));
}

/** True when one of `pairs` (`name=value`) names a token in `names`. */
function namesOne(pairs: string[], names: ReadonlySet<string>): boolean {
  return pairs.some((pair) => isOneOf(pair.split("=", 1)[0]!.trim(), names));
}

/** A configured name as `isOneOf` compares it: PHP's name, its non-ASCII characters as the UTF-8 bytes PHP compares. */
function configuredSpelling(name: string): string {
  return phpName(Buffer.from(name, "utf8").toString("latin1"));
}

/** A raw query name as URLSearchParams (and so the upstream query's edits) decodes it. */
function searchParamName(raw: string): string {
  return new URLSearchParams(`${raw}=`).keys().next().value ?? raw;
}

function decodeQueryComponent(text: string): string {
  const spaced = text.includes("+") ? text.replace(/\+/g, " ") : text;
  if (!spaced.includes("%")) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

interface Collector {
  /** Whether `sources` is kept: only when the token is to be removed. */
  readonly record: boolean;
  first: Candidate | null;
  multiple: boolean;
  /**
   * A value the gateway cannot check where a token is read: a Bearer value that is not one, a
   * repeated field of another scheme, or a token's name behind a separator other parsers split
   * on. Beside a token it is one an upstream may read instead.
   */
  unchecked: boolean;
  sources: TokenSource[] | null;
}

export class TokenFinder {
  /** In `configuredSpelling`: `my.jwt`, `my+jwt`, `my%5Fjwt` and `my_jwt[]` are all PHP's `my_jwt`, `[my_jwt]` qs's. */
  private readonly queryNames: ReadonlySet<string>;
  /** In `configuredSpelling`, as the query's. */
  private readonly cookieNames: ReadonlySet<string>;
  private readonly headerNames: readonly string[];
  /**
   * The header names in `cgiSpelling`, when one of them has another spelling a CGI-style server
   * reads as the same variable (`x-jwt` and `X_JWT` are both HTTP_X_JWT); else null.
   */
  private readonly cgiHeaderNames: ReadonlySet<string> | null;

  constructor(
    config: { uri_param_names: string[]; cookie_names: string[]; header_names: string[] },
    private readonly recordSources: boolean,
  ) {
    this.queryNames = new Set(config.uri_param_names.map(configuredSpelling));
    this.cookieNames = new Set(config.cookie_names.map(configuredSpelling));
    this.headerNames = [...new Set(config.header_names.map((name) => name.toLowerCase()))];
    const spelt = new Set(this.headerNames.map(cgiSpelling));
    this.cgiHeaderNames = [...spelt].some((name) => name.includes("-")) ? spelt : null;
  }

  /** The token of a request to `url` with `headers`. */
  find(url: string, headers: HeaderFields): FoundToken | TokenSearchFailure {
    const found = this.collect(url, headers, this.recordSources);
    if (found.first === null) return "missing";
    if (found.multiple || found.unchecked) return "multiple";
    if (found.first === NOT_A_STRING) return "unrecognizable";
    return { token: found.first, sources: found.sources };
  }

  /**
   * Removes whatever the plugin reads as a token from the request, valid or not, one or several,
   * Bearer values that are no token included: for a request that goes on without this plugin
   * having verified it (an anonymous fallback, or a later plugin's credential), so an upstream
   * that reads the token's claims never gets one the gateway refused.
   */
  strip(ctx: RequestContext): void {
    const found = this.collect(ctx.href, ctx.upstreamHeaders, true);
    this.hide(ctx, found);
  }

  private collect(url: string, headers: HeaderFields, record: boolean): Collector {
    const found: Collector = { record, first: null, multiple: false, unchecked: false, sources: null };
    if (this.queryNames.size) this.fromQuery(url, found);
    if (this.cookieNames.size) this.fromCookies(headers.get("cookie"), found);
    for (const name of this.headerNames) this.fromHeader(headers.get(name), name, found);
    if (this.cgiHeaderNames !== null) this.fromOtherSpellings(headers, this.cgiHeaderNames, found);
    return found;
  }

  /** Removes the token from every place it was found, before the request goes upstream. */
  hide(ctx: RequestContext, found: Pick<FoundToken, "sources">): void {
    for (const source of found.sources ?? []) {
      if (source.kind === "header") ctx.upstreamHeaders.delete(source.name);
      else if (source.kind === "query") ctx.upstreamQuery.delete(searchParamName(source.name));
      else this.hideCookie(ctx.upstreamHeaders, source.name);
    }
  }

  private add(found: Collector, value: Candidate, kind: TokenSource["kind"], name: string): void {
    if (found.first === null) found.first = value;
    else if (found.first !== value) found.multiple = true;
    if (found.record) (found.sources ??= []).push({ kind, name });
  }

  private fromQuery(url: string, found: Collector): void {
    const start = url.indexOf("?");
    if (start < 0) return;
    const end = url.indexOf("#", start);
    const query = url.slice(start + 1, end < 0 ? undefined : end);
    for (const pair of query.split("&")) {
      const eq = pair.indexOf("=");
      // Rack 2 and Python before 3.9.2 split on `;` too: a token's name after one is a value
      // the gateway does not check.
      if (pair.includes(";") && namesOne(pair.split(";").slice(1), this.queryNames)) found.unchecked = true;
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (!isOneOf(name, this.queryNames)) continue;
      if (eq < 0) {
        this.add(found, NOT_A_STRING, "query", name);
        continue;
      }
      const value = decodeQueryComponent(pair.slice(eq + 1));
      if (value !== "") this.add(found, value, "query", name);
    }
  }

  private fromCookies(header: string | null, found: Collector): void {
    if (header === null) return;
    for (const part of header.split(";")) {
      const eq = part.indexOf("=");
      if (eq < 0) continue;
      // Rack up to 2.1 splits cookies on `,` too: a token's name after one is a value the gateway does not check.
      if (part.includes(",", eq) && namesOne(part.slice(eq).split(",").slice(1), this.cookieNames)) found.unchecked = true;
      const name = part.slice(0, eq).trim();
      // Every cookie of that name counts, raw (nginx's $cookie_<name> is only the first), and
      // every other spelling of it an upstream reads as that name: an upstream that reads
      // another one must not get a token the gateway did not check.
      if (!isOneOf(name, this.cookieNames)) continue;
      const value = part.slice(eq + 1).trim();
      if (value !== "") this.add(found, value, "cookie", name);
    }
  }


  /** `respelt`: a field in another spelling of the header, which an upstream may read as a repeated field. */
  private fromHeader(value: string | null, name: string, found: Collector, respelt = false): void {
    if (value === null) return;
    // Repeated fields arrive joined with ", " (a token has no comma). Kong reads the first one;
    // here each one's token counts, as for the other sources, so a second, different token is
    // refused rather than sent on unchecked to an upstream that reads the last field.
    let start = 0;
    for (;;) {
      const comma = value.indexOf(",", start);
      const piece = comma < 0 ? (start === 0 ? value : value.slice(start)) : value.slice(start, comma);
      const token = bearerToken(piece);
      if (token !== null) this.add(found, token, "header", name);
      else if (respelt || comma >= 0 || start > 0 || hasBearerScheme(piece)) {
        found.unchecked = true;
        if (found.record) (found.sources ??= []).push({ kind: "header", name });
      }
      if (comma < 0) return;
      start = comma + 1;
    }
  }

  /** Fields in another spelling of a token header (`X_JWT` for `x-jwt`) count as that header. */
  private fromOtherSpellings(headers: HeaderFields, spelt: ReadonlySet<string>, found: Collector): void {
    for (const name of headers.keys()) {
      if (!this.headerNames.includes(name) && spelt.has(cgiSpelling(name))) this.fromHeader(headers.get(name), name, found, true);
    }
  }

  private hideCookie(headers: HeaderFields, name: string): void {
    const cookie = headers.get("cookie");
    if (cookie === null) return;
    const kept = cookie.split(";").filter((part) => {
      const eq = part.indexOf("=");
      return eq < 0 || part.slice(0, eq).trim() !== name;
    });
    if (kept.length) headers.set("cookie", kept.join(";").trim());
    else headers.delete("cookie");
  }
}
