// Responses of the admin API, and the one mapping from thrown errors to HTTP: every error body
// is JSON `{message, fields?}`, never a stack trace.
import { GatewayError, describeError } from "../errors.ts";

export const JSON_TYPE = "application/json; charset=utf-8";

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

export function text(status: number, body: string, contentType: string): Response {
  return new Response(body, { status, headers: { "content-type": contentType } });
}

export function noContent(): Response {
  return new Response(null, { status: 204 });
}

export function errorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  if (error instanceof GatewayError) {
    const extra: Record<string, string> = error.status === 401 ? { "www-authenticate": 'Bearer realm="gateway admin"' } : {};
    return json(error.status, error.toBody(), { ...extra, ...headers });
  }
  // Not one of ours: an internal fault. The detail goes to the log, not to the client.
  console.error(`admin API: unexpected error: ${describeError(error)}`, error instanceof Error ? error.stack : "");
  return json(500, { message: "An unexpected error occurred" });
}
