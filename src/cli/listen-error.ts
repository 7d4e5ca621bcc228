// The one-line reason a listener could not start, for `serve` and for its workers.
import { describeError } from "../errors.ts";

export function listenError(error: unknown, what: string, address: string): Error {
  const code = (error as { code?: string }).code;
  if (code === "EADDRINUSE") return new Error(`${what} ${address}: address already in use`);
  if (code === "EACCES") return new Error(`${what} ${address}: permission denied`);
  return new Error(`${what} ${address}: ${describeError(error)}`);
}
