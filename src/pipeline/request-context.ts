// The per-request object plugins share. Created only for routes that have plugins.
import type { Consumer } from "../model/consumer.ts";
import type { Snapshot } from "../state/snapshot.ts";
import type { AuthenticatedCredential, RequestContext } from "./contract.ts";

export class PluginRequestContext implements RequestContext {
  private parsedUrl: URL | null = null;
  dropQueryParams: string[] | null = null;
  consumer: Consumer | null = null;
  credential: AuthenticatedCredential | null = null;
  authenticatedGroups: string[] | null = null;
  authFailure: RequestContext["authFailure"] = null;
  claims: Record<string, unknown> | null = null;
  authFailureMetric: string | null = null;

  constructor(
    readonly request: Request,
    readonly requestId: string,
    readonly clientIp: string,
    readonly snapshot: Snapshot,
    readonly routeId: string,
    readonly configs: ReadonlyMap<string, unknown>,
  ) {}

  get url(): URL {
    return (this.parsedUrl ??= new URL(this.request.url));
  }

  get upstreamHeaders(): Headers {
    return this.request.headers;
  }
}
