// The shared part of opening an upstream connection: wait for the socket's ready event ('connect'
// for TCP, 'secureConnect' for TLS) at most CONNECT_TIMEOUT_MS, and report exactly once.
import type { Socket } from "node:net";

export const CONNECT_TIMEOUT_MS = 5000;

export function whenConnected<S extends Socket>(socket: S, readyEvent: "connect" | "secureConnect", onReady: (socket: S) => void, onError: (err: NodeJS.ErrnoException) => void): void {
  let settled = false;
  const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), CONNECT_TIMEOUT_MS);
  socket.once(readyEvent, () => {
    clearTimeout(timer);
    settled = true;
    onReady(socket);
  });
  socket.once("error", (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (settled) return;
    settled = true;
    socket.destroy();
    onError(err);
  });
}
