// The admin token (SPEC §2): with one configured, every request needs
// `Authorization: Bearer <token>`. The token and the candidate are both hashed before the
// constant-time comparison, so neither their contents nor their lengths leak through timing.
//
// Open without the token: the Swagger UI page, its static assets and the OpenAPI document.
// They describe the API (the same for every gateway of this version), never its state, and a
// browser must load them before the user can enter the token in the UI's "Authorize" dialog.
import { createHash, timingSafeEqual } from "node:crypto";
import { UnauthorizedError } from "../errors.ts";
import { bearerToken } from "../http/bearer.ts";

export const PUBLIC_PATHS = ["/docs", "/docs/json"];
export const PUBLIC_PREFIX = "/docs/assets/";

const digest = (value: string) => createHash("sha256").update(value).digest();

export function isPublicPath(path: string): boolean {
  return PUBLIC_PATHS.includes(path) || path.startsWith(PUBLIC_PREFIX);
}

/** Returns a check that throws UnauthorizedError unless the request carries the token. */
export function adminTokenCheck(token: string | undefined): (request: Request, path: string) => void {
  if (!token) return () => {};
  const expected = digest(token);
  return (request, path) => {
    if (isPublicPath(path)) return;
    const presented = bearerToken(request.headers.get("authorization") ?? "");
    if (presented === null || !timingSafeEqual(digest(presented), expected)) {
      throw new UnauthorizedError("Unauthorized: send the admin token as 'Authorization: Bearer <token>'");
    }
  };
}
