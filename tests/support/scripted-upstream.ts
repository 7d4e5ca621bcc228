// A raw TCP upstream for tests: `reply` writes whatever bytes the test wants for each request
// head it receives, so every byte the upstream sends is chosen by the test.
import type { Socket, TCPSocketListener } from "bun";

export interface ScriptedUpstream {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Connections open right now, and the most open at once. */
  open: number;
  maxOpen: number;
  /** Request heads received, in order. */
  requests: string[];
  stop(): void;
}

export type Reply = (socket: Socket<{ head: string; served: number }>, request: string, served: number) => void;

/** A raw TCP upstream: `reply` writes whatever bytes the test wants for each request head. */
export function scripted(reply: Reply): ScriptedUpstream {
  const state = { connections: 0, open: 0, maxOpen: 0, requests: [] as string[] };
  const listener: TCPSocketListener<{ head: string; served: number }> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        state.connections++;
        state.maxOpen = Math.max(state.maxOpen, ++state.open);
        socket.data = { head: "", served: 0 };
      },
      close() {
        state.open--;
      },
      data(socket, bytes) {
        socket.data.head += bytes.toString("latin1");
        let end: number;
        while ((end = socket.data.head.indexOf("\r\n\r\n")) >= 0) {
          const request = socket.data.head.slice(0, end);
          socket.data.head = socket.data.head.slice(end + 4);
          state.requests.push(request);
          reply(socket, request, socket.data.served++);
        }
      },
    },
  });
  return {
    port: listener.port,
    get connections() { return state.connections; },
    get open() { return state.open; },
    get maxOpen() { return state.maxOpen; },
    requests: state.requests,
    stop: () => listener.stop(true),
  };
}
