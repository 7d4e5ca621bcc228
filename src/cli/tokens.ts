// Signing a JWT for the CLI (sign, proxy jwt, demo): jose does the work; header is
// `{alg, typ: "JWT"}` plus `kid` only when one is given.
import type { KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import type { Algorithm } from "./key-files.ts";

export function signToken(payload: Record<string, unknown>, alg: Algorithm, key: KeyObject, kid?: string): Promise<string> {
  return new SignJWT(payload).setProtectedHeader(kid ? { alg, typ: "JWT", kid } : { alg, typ: "JWT" }).sign(key);
}
