// The closed set of errors the gateway answers on purpose: each has a stable code, and one
// table maps a code to its HTTP status and, where it is fixed, its message (Kong's exact words
// on the proxy). Log fields and metric labels are these codes. Anything else that reaches a
// boundary is an internal fault: logged, answered without detail.

export type FieldErrors = Record<string, string>;

interface ErrorFacts {
  readonly status: number;
  /** The message when it never varies; otherwise given where the error is raised. */
  readonly message?: string;
}

export const ERRORS = {
  // Admin API and CLI
  validation_failed: { status: 400 },
  bad_request: { status: 400 },
  unauthorized: { status: 401, message: "Unauthorized" },
  forbidden: { status: 403 },
  not_found: { status: 404, message: "Not found" },
  method_not_allowed: { status: 405, message: "Method not allowed" },
  conflict: { status: 409 },
  payload_too_large: { status: 413 },
  unsupported_media_type: { status: 415 },
  internal: { status: 500, message: "An unexpected error occurred" },
  // Proxy (SPEC §4.3 and the hardening rules of README "Security")
  no_route: { status: 404, message: "no Route matched with those values" },
  bad_gateway: { status: 502, message: "An invalid response was received from the upstream server" },
  // Kong's words for any 502; why the certificate was refused goes to the access log only.
  upstream_tls_failed: { status: 502, message: "An invalid response was received from the upstream server" },
  upstream_timeout: { status: 504, message: "The upstream server is timing out" },
  service_disabled: { status: 503, message: "Service unavailable" },
  // Kong's words when every target of the service's upstream is unhealthy or has weight 0.
  no_healthy_target: { status: 503, message: "failure to get a peer from the ring-balancer" },
  client_gone: { status: 499, message: "the client closed the connection" },
  // A body a plugin was reading, given up when bodies still arriving held all the memory set
  // aside for them and it had been arriving the longest.
  request_body_too_slow: { status: 408, message: "the request body arrived too slowly while other request bodies needed the memory" },
  // basic-auth's password checks (argon2id, off the event loop) already waiting fill their queue.
  password_checks_busy: { status: 503, message: "too many password checks in progress, retry later" },
  invalid_host: { status: 400, message: "invalid Host header: expected host[:port]" },
  invalid_path: {
    status: 400,
    message: "invalid request path: encoded '/' or '\\', control characters, malformed percent-encoding, '..' above the root and dot segments with ';' parameters are refused",
  },
  body_on_bodiless_method: { status: 400, message: "a GET or HEAD request must not carry a body (Content-Length or Transfer-Encoding)" },
  invalid_content_length: { status: 400, message: "invalid Content-Length header: expected one number" },
  connect_not_served: { status: 400, message: "CONNECT is not served: the gateway is not a forward proxy" },
  invalid_websocket_upgrade: { status: 400, message: "invalid WebSocket upgrade: expected Connection: Upgrade and a Sec-WebSocket-Key of 16 bytes in base64" },
  websocket_version_unsupported: { status: 426, message: "unsupported WebSocket version: expected Sec-WebSocket-Version: 13" },
  https_required: { status: 426, message: "Please use HTTPS protocol" },
  // The raw engine's own refusals of what a client sent (Bun.serve answers these itself).
  malformed_request: { status: 400 },
  request_timeout: { status: 408, message: "the request head did not arrive in time" },
  uri_too_long: { status: 414, message: "request target too long" },
  request_header_too_large: { status: 431, message: "request header fields too large" },
  unsupported_transfer_encoding: { status: 501, message: "unsupported Transfer-Encoding: only chunked is accepted" },
} as const satisfies Record<string, ErrorFacts>;

export type ErrorCode = keyof typeof ERRORS;

/** The fixed message of a code (those without one name the code). */
export function messageOf(code: ErrorCode): string {
  return (ERRORS[code] as ErrorFacts).message ?? code;
}

/** The code an HTTP status stands for when only the status is known (a remote admin API's answer). */
export function codeForStatus(status: number): ErrorCode {
  const found = (Object.keys(ERRORS) as ErrorCode[]).find((code) => ERRORS[code].status === status);
  return found ?? (status >= 500 ? "internal" : "bad_request");
}

export class GatewayError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly fields?: FieldErrors,
  ) {
    super(message ?? messageOf(code));
    this.status = ERRORS[code].status;
  }

  toBody(): { message: string; fields?: FieldErrors } {
    return this.fields ? { message: this.message, fields: this.fields } : { message: this.message };
  }
}

/** A request or file that breaks the schema: names each bad field and why. */
export class ValidationError extends GatewayError {
  constructor(fields: FieldErrors, message?: string) {
    const summary = Object.entries(fields)
      .map(([field, why]) => `${field}: ${why}`)
      .join("; ");
    super("validation_failed", message ?? `schema violation (${summary})`, fields);
  }
}

export class BadRequestError extends GatewayError {
  constructor(message: string) {
    super("bad_request", message);
  }
}

export class UnauthorizedError extends GatewayError {
  constructor(message?: string) {
    super("unauthorized", message);
  }
}

export class NotFoundError extends GatewayError {
  constructor(message?: string) {
    super("not_found", message);
  }
}

export class MethodNotAllowedError extends GatewayError {
  constructor(message?: string) {
    super("method_not_allowed", message);
  }
}

export class ConflictError extends GatewayError {
  constructor(message: string, fields?: FieldErrors) {
    super("conflict", message, fields);
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(limitBytes: number) {
    super("payload_too_large", `request body is larger than ${limitBytes} bytes`);
  }
}

export class ForbiddenError extends GatewayError {
  constructor(message: string) {
    super("forbidden", message);
  }
}

/** A CLI invocation that is wrong as typed: exit code 2. */
export class UsageError extends Error {}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

/** Turns any thrown value into a safe message: never a stack trace. */
export function describeError(error: unknown): string {
  // The gateway's own messages may list several findings a line each; anything else (a parser's) is cut to its first line.
  if (error instanceof GatewayError) return error.message;
  if (error instanceof Error) return error.message.split("\n")[0] ?? "error";
  return String(error);
}
