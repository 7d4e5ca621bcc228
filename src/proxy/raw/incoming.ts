// A request as the raw engine parsed it: its head's header pairs answer the request flow's and
// the plugins' reads and changes directly, and a Fetch Request is built from them only when a
// builtin, a plugin that needs it whole (a body reader) or fetch asks for one (the direct
// exchange never does).
import type { HeaderFields, PluginRequestSource } from "../../pipeline/contract.ts";
import type { BodyControl } from "../upstream/body-relay.ts";
import { ClientGone } from "../upstream/errors.ts";
import type { RequestBody } from "./request-body.ts";
import { TOKEN } from "./request-parser.ts";

/** What Fetch strips from both ends of a field value (HTTP whitespace). */
const OUTER_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
/** What no field value can carry once stripped: NUL, CR, LF, or a character beyond Latin-1. */
const UNSENDABLE_VALUE = /[\0\r\n\u0100-\uffff]/;

function validName(name: string): string {
  for (let i = 0; i < name.length; i++) if (TOKEN[name.charCodeAt(i)] !== 1) throw new TypeError(`Invalid header name: '${name}'`);
  if (name.length === 0) throw new TypeError("Invalid header name: ''");
  return name.toLowerCase();
}

function validValue(name: string, value: string): string {
  const last = value.length - 1;
  // Values plugins set rarely have outer whitespace: the replace, which copies, only when they do.
  const stripped = last >= 0 && (value.charCodeAt(0) <= 32 || value.charCodeAt(last) <= 32) ? value.replace(OUTER_WHITESPACE, "") : value;
  if (UNSENDABLE_VALUE.test(stripped)) throw new TypeError(`Header '${name}' has invalid value`);
  return stripped;
}

/**
 * The head's headers, flat `[lower-case name, value, ...]` in the client's order, read and
 * changed as Fetch's Headers would be (HeaderFields). Once the request's Fetch Request is built
 * its Headers hold the fields, and every call goes there, so the two never disagree.
 */
export class RawHeaders implements HeaderFields {
  private fetched: Headers | null = null;

  constructor(readonly pairs: string[]) {}

  /** From now on the fields live in `headers` (built from the pairs as they are now). */
  movedTo(headers: Headers): void {
    this.fetched = headers;
  }

  /** As Headers.get: repeated fields joined with ", " (Cookie with "; ", as Bun's Headers joins it). */
  get(name: string): string | null {
    if (this.fetched !== null) return this.fetched.get(name);
    const lower = name.toLowerCase();
    const pairs = this.pairs;
    let found: string | null = null;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === lower) found = found === null ? pairs[i + 1]! : `${found}${lower === "cookie" ? "; " : ", "}${pairs[i + 1]}`;
    }
    return found;
  }

  has(name: string): boolean {
    if (this.fetched !== null) return this.fetched.has(name);
    const lower = name.toLowerCase();
    const pairs = this.pairs;
    for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === lower) return true;
    return false;
  }

  set(name: string, value: string): void {
    if (this.fetched !== null) return this.fetched.set(name, value);
    this.replace(validName(name), validValue(name, value));
  }

  setChecked(fields: readonly string[]): void {
    if (this.fetched !== null) {
      for (let i = 0; i < fields.length; i += 2) this.fetched.set(fields[i]!, fields[i + 1]!);
      return;
    }
    for (let i = 0; i < fields.length; i += 2) this.replace(fields[i]!, fields[i + 1]!);
  }

  /** The first field named `lower` takes `stripped`, the others go; none: it is added. */
  private replace(lower: string, stripped: string): void {
    const pairs = this.pairs;
    let at = -1;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] !== lower) continue;
      if (at < 0) {
        at = i;
        pairs[i + 1] = stripped;
      } else {
        pairs.splice(i, 2);
        i -= 2;
      }
    }
    if (at < 0) pairs.push(lower, stripped);
  }

  append(name: string, value: string): void {
    if (this.fetched !== null) return this.fetched.append(name, value);
    this.pairs.push(validName(name), validValue(name, value));
  }

  delete(name: string): void {
    if (this.fetched !== null) return this.fetched.delete(name);
    const lower = name.toLowerCase();
    const pairs = this.pairs;
    for (let i = pairs.length - 2; i >= 0; i -= 2) if (pairs[i] === lower) pairs.splice(i, 2);
  }

  /** The names, each once, sorted (as Headers iterates). */
  keys(): IterableIterator<string> {
    if (this.fetched !== null) return this.fetched.keys();
    // Insertion into a sorted list: a head has a handful of names, where Set and sort cost more.
    const names: string[] = [];
    const pairs = this.pairs;
    for (let i = 0; i < pairs.length; i += 2) {
      const name = pairs[i]!;
      let at = names.length;
      while (at > 0 && names[at - 1]! > name) at--;
      if (at > 0 && names[at - 1] === name) continue;
      if (at === names.length) names.push(name);
      else names.splice(at, 0, name);
    }
    return names[Symbol.iterator]();
  }

  /** Each name once, sorted, with its joined value (as Headers iterates). */
  [Symbol.iterator](): IterableIterator<[string, string]> {
    if (this.fetched !== null) return this.fetched[Symbol.iterator]();
    return Array.from(this.keys(), (name): [string, string] => [name, this.get(name)!])[Symbol.iterator]();
  }
}

/** The connection a request came on, as the direct exchange answers through it. */
export interface RequestConnection {
  /** False: wait for `writable()` before writing more. */
  write(bytes: Uint8Array | string): boolean;
  /** As `write`, of `bytes[0, length)` of a buffer reused once this returns (ClientTransport.writeTransient). */
  writeTransient(bytes: Uint8Array, length: number): boolean;
  writable(): Promise<void>;
  /** The answer's head is about to be written: how the request asked to be answered. */
  startAnswer(): { minorVersion: 0 | 1; method: string; draining: boolean };
  /** Writes a Response as the answer (the flow's refusals). */
  respond(request: RawRequest, response: Response): void;
  /** The answer is complete (`reusable`: the connection may carry the next request). */
  end(request: RawRequest, reusable: boolean): void;
}

export class RawRequest implements PluginRequestSource {
  readonly headers: RawHeaders;
  private built: Request | null = null;
  private controller: AbortController | null = null;
  /** The client went away before its answer was written. */
  gone = false;
  /** The direct exchange's upstream body in flight, stopped if the client goes. */
  exchange: BodyControl | null = null;

  constructor(
    readonly method: string,
    /** Origin-form target as the client sent it (path and query). */
    readonly target: string,
    pairs: string[],
    /** `scheme://host` for the Fetch Request's URL. */
    private readonly origin: string,
    readonly body: RequestBody | null,
    /** The connection it came on, which answers it. */
    readonly connection: RequestConnection,
  ) {
    this.headers = new RawHeaders(pairs);
  }

  get url(): string {
    return this.origin + this.target;
  }

  get bodyBytesRead(): number {
    return this.body === null ? 0 : this.body.received;
  }

  /** The Fetch Request if one was built (a plugin, a builtin or fetch asked for it), else null. */
  get fetched(): Request | null {
    return this.built;
  }

  request(): Request {
    if (this.built) return this.built;
    const headers = new Headers();
    const pairs = this.headers.pairs;
    for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i]!, pairs[i + 1]!);
    this.controller = new AbortController();
    if (this.gone) this.controller.abort();
    this.built = new Request(this.url, {
      method: this.method,
      headers,
      body: this.body?.stream,
      signal: this.controller.signal,
      duplex: "half",
    } as RequestInit);
    this.headers.movedTo(this.built.headers);
    return this.built;
  }

  /** The client closed its connection: whatever still works for this request stops. */
  clientGone(): void {
    this.gone = true;
    this.controller?.abort();
    this.body?.clientGone();
    this.exchange?.abort(new ClientGone());
  }
}
