// The proxy's own error responses (SPEC §4.3): JSON `{message}` with the exact Kong texts.
export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export const MESSAGES = {
  noRoute: "no Route matched with those values",
  badGateway: "An invalid response was received from the upstream server",
  timeout: "The upstream server is timing out",
  internal: "An unexpected error occurred",
  unavailable: "Service unavailable",
  bodyOnBodilessMethod: "a GET or HEAD request must not carry a body (Content-Length or Transfer-Encoding)",
  invalidHost: "invalid Host header: expected host[:port]",
  invalidContentLength: "invalid Content-Length header: expected one number",
  invalidPath: "invalid request path: encoded '/' or '\\', control characters, malformed percent-encoding, '..' above the root and dot segments with ';' parameters are refused",
} as const;

export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, ...headers },
  });
}

export function messageResponse(status: number, message: string, headers?: Record<string, string>): Response {
  return jsonResponse(status, { message }, headers);
}
