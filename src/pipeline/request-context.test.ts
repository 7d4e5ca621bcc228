// setConsumer's identity headers on both engines' header fields: the raw engine's pairs take the
// fields checked once per consumer (setChecked), Fetch's Headers take them one by one; the
// upstream must get the same fields either way.
import { describe, expect, test } from "bun:test";
import type { Consumer } from "../entities/consumer.ts";
import { RawHeaders } from "../proxy/raw/incoming.ts";
import type { HeaderFields, RequestContext } from "./contract.ts";
import { setConsumer } from "./request-context.ts";

const consumer = { id: "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b", username: "reporting-app", custom_id: null } as unknown as Consumer;
const credential = { id: "c1", identifier: "app-key", consumerId: consumer.id };

const contextWith = (headers: HeaderFields, cleared: boolean) => ({ identityHeadersCleared: cleared, consumer: null, credential: null, upstreamHeaders: headers }) as unknown as RequestContext;

const engines: [string, (pairs: string[]) => HeaderFields][] = [
  ["raw pairs", (pairs) => new RawHeaders(pairs)],
  ["Fetch Headers", (pairs) => { const headers = new Headers(); for (let i = 0; i < pairs.length; i += 2) headers.append(pairs[i]!, pairs[i + 1]!); return headers; }],
];

describe.each(engines)("setConsumer on %s", (_, make) => {
  test("a request with no identity header gets the consumer's and the credential's", () => {
    const headers = make(["host", "example.test"]);
    setConsumer(contextWith(headers, true), consumer, credential);
    expect([...headers]).toEqual([["host", "example.test"], ["x-consumer-id", consumer.id], ["x-consumer-username", "reporting-app"], ["x-credential-identifier", "app-key"]]);
  });

  test("a value already there (another plugin's) is replaced, never doubled", () => {
    const headers = make(["x-consumer-id", "forged", "x-consumer-username", "a", "x-consumer-username", "b"]);
    setConsumer(contextWith(headers, true), consumer, credential);
    expect(headers.get("x-consumer-id")).toBe(consumer.id);
    expect(headers.get("x-consumer-username")).toBe("reporting-app");
  });

  test("a second consumer (the anonymous fallback after a failed one) replaces the first's fields and removes the credential's", () => {
    const headers = make([]);
    const ctx = contextWith(headers, true);
    setConsumer(ctx, consumer, credential);
    const anonymous = { id: "0f0e0d0c-0b0a-4909-8807-060504030201", username: null, custom_id: "guest\u0007" } as unknown as Consumer;
    setConsumer(ctx, anonymous, null);
    // A value no header can carry (a control character) is left out, and the first consumer's goes.
    expect([...headers]).toEqual([["x-anonymous-consumer", "true"], ["x-consumer-id", anonymous.id]]);
  });
});
