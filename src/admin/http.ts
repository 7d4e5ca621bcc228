// Responses of the admin API, and the one mapping from thrown errors to HTTP: every error body
// is JSON `{message, fields?}`, never a stack trace.
import { type FieldErrors, GatewayError, describeError, messageOf } from "../errors.ts";
import { clip } from "../entities/quote.ts";

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

/**
 * An error's body, bounded whatever built it: values are quoted short where messages are made
 * (entities/quote.ts); this catches a message made elsewhere (a plugin's check) that was not.
 */
function boundedBody(error: GatewayError): { message: string; fields?: FieldErrors } {
  const body = error.toBody();
  // A message may list findings a line each (a declarative file's unsupported features): each line is bounded.
  const message = body.message.split("\n").slice(0, 50).map((line) => clip(line, 2048)).join("\n");
  if (!body.fields) return { message };
  const fields = Object.fromEntries(Object.entries(body.fields).slice(0, 20).map(([name, why]) => [clip(name, 256), clip(why, 512)]));
  return { message, fields };
}

export function errorResponse(error: unknown, headers: Record<string, string> = {}): Response {
  if (error instanceof GatewayError) {
    const extra: Record<string, string> = error.status === 401 ? { "www-authenticate": 'Bearer realm="gateway admin"' } : {};
    return json(error.status, boundedBody(error), { ...extra, ...headers });
  }
  // Not one of ours: an internal fault. The detail goes to the log, not to the client.
  console.error(`admin API: unexpected error: ${describeError(error)}`, error instanceof Error ? error.stack : "");
  return json(500, { message: messageOf("internal") });
}
