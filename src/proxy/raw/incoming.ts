// A request as the raw engine parsed it: its head's header pairs answer the request flow's
// reads directly, and a Fetch Request is built from them only when a builtin, a plugin or
// fetch asks for one (the direct exchange never does).
import type { BodyControl } from "../upstream/body-relay.ts";
import { ClientGone } from "../upstream/errors.ts";
import type { DeferredRequest, RequestHeaders } from "../request-flow.ts";
import type { RequestBody } from "./request-body.ts";

/** The head's headers, flat `[lower-case name, value, ...]` in the client's order. */
export class RawHeaders implements RequestHeaders {
  constructor(readonly pairs: string[]) {}

  /** As Headers.get: repeated fields joined with ", ". */
  get(name: string): string | null {
    const pairs = this.pairs;
    let found: string | null = null;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === name) found = found === null ? pairs[i + 1]! : `${found}, ${pairs[i + 1]}`;
    }
    return found;
  }

  has(name: string): boolean {
    const pairs = this.pairs;
    for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === name) return true;
    return false;
  }

  set(name: string, value: string): void {
    const pairs = this.pairs;
    let at = -1;
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] !== name) continue;
      if (at < 0) {
        at = i;
        pairs[i + 1] = value;
      } else {
        pairs.splice(i, 2);
        i -= 2;
      }
    }
    if (at < 0) pairs.push(name, value);
  }
}

/** The connection a request came on, as the direct exchange answers through it. */
export interface RequestConnection {
  /** False: wait for `writable()` before writing more. */
  write(bytes: Uint8Array | string): boolean;
  writable(): Promise<void>;
  /** The answer's head is about to be written: how the request asked to be answered. */
  startAnswer(): { minorVersion: 0 | 1; method: string; draining: boolean };
  /** Writes a Response as the answer (the flow's refusals). */
  respond(request: RawRequest, response: Response): void;
  /** The answer is complete (`reusable`: the connection may carry the next request). */
  end(request: RawRequest, reusable: boolean): void;
}

export class RawRequest implements DeferredRequest {
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

  request(): Request {
    if (this.built) return this.built;
    const headers = new Headers();
    const pairs = this.headers.pairs;
    for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i]!, pairs[i + 1]!);
    this.controller = new AbortController();
    if (this.gone) this.controller.abort();
    this.built = new Request(this.origin + this.target, {
      method: this.method,
      headers,
      body: this.body?.stream,
      signal: this.controller.signal,
      duplex: "half",
    } as RequestInit);
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
