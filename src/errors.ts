// The closed set of errors the gateway raises on purpose, and their one mapping to HTTP.
// Anything else that reaches a boundary is an internal fault: logged, answered without detail.

export type FieldErrors = Record<string, string>;

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly fields?: FieldErrors,
  ) {
    super(message);
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
    super(400, message ?? `schema violation (${summary})`, fields);
  }
}

export class BadRequestError extends GatewayError {
  constructor(message: string) {
    super(400, message);
  }
}

export class UnauthorizedError extends GatewayError {
  constructor(message = "Unauthorized") {
    super(401, message);
  }
}

export class NotFoundError extends GatewayError {
  constructor(message = "Not found") {
    super(404, message);
  }
}

export class MethodNotAllowedError extends GatewayError {
  constructor(message = "Method not allowed") {
    super(405, message);
  }
}

export class ConflictError extends GatewayError {
  constructor(message: string, fields?: FieldErrors) {
    super(409, message, fields);
  }
}

export class PayloadTooLargeError extends GatewayError {
  constructor(limitBytes: number) {
    super(413, `request body is larger than ${limitBytes} bytes`);
  }
}

export class ForbiddenError extends GatewayError {
  constructor(message: string) {
    super(403, message);
  }
}

/** A CLI invocation that is wrong as typed: exit code 2. */
export class UsageError extends Error {}

export function isGatewayError(error: unknown): error is GatewayError {
  return error instanceof GatewayError;
}

/** Turns any thrown value into a safe message: never a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split("\n")[0] ?? "error";
  return String(error);
}
