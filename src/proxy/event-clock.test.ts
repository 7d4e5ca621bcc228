import { expect, test } from "bun:test";
import { eventNow, receiveAsEvent } from "./event-clock.ts";

const busy = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until);
};

test("inside one event every reading is the event's; outside, each is the clock's", () => {
  const readings: number[] = [];
  receiveAsEvent({ received: () => {
    readings.push(eventNow());
    busy(3);
    readings.push(eventNow());
    // A nested event (a write that calls back synchronously) shares the outer one's reading.
    receiveAsEvent({ received: () => readings.push(eventNow()) }, new Uint8Array(0));
    readings.push(eventNow());
  } }, new Uint8Array(0));
  expect(new Set(readings).size).toBe(1);
  const after = eventNow();
  expect(after - readings[0]!).toBeGreaterThanOrEqual(3);
  busy(2);
  expect(eventNow() - after).toBeGreaterThanOrEqual(2);
});

test("a receiver that throws ends its event, and what it queued reads the clock afresh", async () => {
  let inside = 0;
  let continued = 0;
  expect(() =>
    receiveAsEvent({ received: () => {
      inside = eventNow();
      void Promise.resolve().then(() => (continued = eventNow()));
      busy(3);
      throw new Error("bad bytes");
    } }, new Uint8Array(0)),
  ).toThrow("bad bytes");
  await Promise.resolve();
  expect(continued - inside).toBeGreaterThanOrEqual(3);
  const before = eventNow();
  busy(2);
  expect(eventNow() - before).toBeGreaterThanOrEqual(2);
});
