// One clock reading per socket event, as nginx keeps one per turn of its event loop
// (ngx_time_update): each performance.now() costs about 65 ns here, and a proxied request read
// the clock 8 times (its arrival, deadlines on both connections, the pool's bookkeeping, the
// upstream's answer), all within the two events it takes. Inside an event the first reading
// serves the rest; outside one (timers, promise continuations, the serve engine), each call
// reads the clock.

let reading = 0;
let depth = 0;

/** Bytes a socket received, handed over as one event: what `receiver` does synchronously shares one reading. */
export function receiveAsEvent<B extends Uint8Array>(receiver: { received(bytes: B): void }, bytes: B): void {
  if (depth++ === 0) reading = performance.now();
  try {
    receiver.received(bytes);
  } finally {
    depth--;
  }
}

/** Milliseconds on performance.now()'s clock: the current event's reading, else the clock's. */
export function eventNow(): number {
  return depth > 0 ? reading : performance.now();
}
