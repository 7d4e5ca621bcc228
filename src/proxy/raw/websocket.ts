// WebSocket upgrades on the raw engine: not carried yet. A valid upgrade request that the
// access phase let through is answered with a clear refusal instead of a half-working relay.
import type { AccessLog } from "../access-log.ts";
import { messageResponse } from "../responses.ts";

export class RawWebSockets {
  constructor(readonly accessLog: AccessLog) {}

  connect(..._request: unknown[]): Promise<Response> {
    return Promise.resolve(messageResponse(501, "WebSocket upgrades are not served by --proxy-engine raw yet; use --proxy-engine serve"));
  }

  async closeAll(): Promise<void> {}
}
