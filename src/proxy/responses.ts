// The proxy's own responses (SPEC §4.3): JSON `{message}`; an error code's status and exact
// text come from the one table in src/errors.ts.
import { ERRORS, type ErrorCode, messageOf } from "../errors.ts";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

export function jsonResponse(status: number, body: unknown, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": JSON_CONTENT_TYPE, ...headers },
  });
}

export function messageResponse(status: number, message: string, headers?: Record<string, string>): Response {
  return jsonResponse(status, { message }, headers);
}

/** The answer for an error code: its status and its message. */
export function errorCodeResponse(code: ErrorCode, headers?: Record<string, string>): Response {
  return messageResponse(ERRORS[code].status, messageOf(code), headers);
}
