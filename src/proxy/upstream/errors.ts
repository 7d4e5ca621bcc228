// How forwarding fails, whichever client carried the request: the proxy maps these to 504/502.
export class UpstreamTimeout extends Error {}
export class UpstreamUnreachable extends Error {}
/** No connection could be made: nothing was sent, so another target may take the request. */
export class UpstreamConnectFailed extends UpstreamUnreachable {
  constructor(
    message: string,
    /** The host name did not resolve. */
    readonly unresolved = false,
  ) {
    super(message);
  }
}
export class UpstreamConnectTimeout extends UpstreamTimeout {}
/** The request was sent and the connection closed before any byte of a response. */
export class UpstreamClosedBeforeResponse extends UpstreamUnreachable {}
/** Every target of the upstream is unhealthy or has weight 0 (Kong's 503). */
export class NoHealthyTarget extends Error {}
/** The client went away first; nobody reads the answer, so the exchange was abandoned. */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection");
  }
}

/** getaddrinfo found no address for the name (or could not ask). */
export function isNameNotFound(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return code === "ENOTFOUND" || code === "EAI_AGAIN";
}

export function isConnectionRefused(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return code === "ECONNREFUSED" || code === "ConnectionRefused" || code === "FailedToOpenSocket";
}
