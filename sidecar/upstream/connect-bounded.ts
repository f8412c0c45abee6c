// The shared part of opening an upstream connection: wait for the socket's ready event ('connect'
// for TCP, 'secureConnect' for TLS) at most CONNECT_TIMEOUT_MS, and report exactly once.
import type { Socket } from "node:net";

export const CONNECT_TIMEOUT_MS = 5000;

export function whenConnected<S extends Socket>(socket: S, readyEvent: "connect" | "secureConnect", onReady: (socket: S) => void, onError: (err: NodeJS.ErrnoException) => void): void {
  const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), CONNECT_TIMEOUT_MS);
  const failed = (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    socket.off(readyEvent, ready);
    socket.destroy();
    onError(err);
  };
  const ready = () => {
    clearTimeout(timer);
    // The connection's owner listens for errors from here on. Left attached, this listener would
    // keep onError, and with it the request that opened the connection, alive as long as the socket.
    socket.off("error", failed);
    onReady(socket);
  };
  socket.once(readyEvent, ready);
  socket.once("error", failed);
}
