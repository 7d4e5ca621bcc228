// How forwarding fails, whichever client carried the request: the proxy maps these to 504/502.
export class UpstreamTimeout extends Error {}
export class UpstreamUnreachable extends Error {}
/** The upstream's certificate was refused, or the TLS handshake failed; the message says why (for the log). */
export class UpstreamTlsFailed extends Error {}
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

// OpenSSL's verification codes as Bun reports them, in words an operator reading the log knows.
const TLS_REASONS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "self-signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self-signed certificate in the chain",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate issued by an unknown CA",
  UNABLE_TO_GET_ISSUER_CERT: "certificate issued by an unknown CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate issued by an unknown CA",
  ERR_TLS_CERT_ALTNAME_INVALID: "host name mismatch (the certificate does not name the service's host)",
  HOSTNAME_MISMATCH: "host name mismatch (the certificate does not name the service's host)",
  CERT_HAS_EXPIRED: "certificate expired",
  CERT_NOT_YET_VALID: "certificate not yet valid",
  CERT_REVOKED: "certificate revoked",
  CERT_SIGNATURE_FAILURE: "certificate signature invalid",
  CERT_CHAIN_TOO_LONG: "certificate chain too long",
  INVALID_CA: "an issuer in the chain is not a CA",
  INVALID_PURPOSE: "certificate not valid for a TLS server",
  CERT_UNTRUSTED: "certificate not trusted",
  CERT_REJECTED: "certificate rejected",
  EPROTO: "TLS handshake failed (the upstream refused it: it may require a client certificate, or not speak TLS)",
};

/** Why a fetch to an https upstream failed in TLS, as a log line says it; null when it is not TLS. */
export function tlsFailureReason(error: unknown): string | null {
  const code = (error as { code?: unknown }).code;
  if (typeof code !== "string") return null;
  const reason = TLS_REASONS[code];
  return reason ? `upstream TLS: ${reason} (${code})` : null;
}
