// Opens a plaintext TCP connection (sidecar -> local app), bounded like the mTLS one.
import net from "node:net";
import { CONNECT_TIMEOUT_MS } from "./tls-connect.js";

export function connectTcp(host: string, port: number, done: (err: Error | null, socket: net.Socket | null) => void): void {
  const socket = net.connect({ host, port, noDelay: true });
  let settled = false;
  const timer = setTimeout(() => socket.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), CONNECT_TIMEOUT_MS);
  socket.once("connect", () => {
    clearTimeout(timer);
    settled = true;
    done(null, socket);
  });
  socket.once("error", (err) => {
    clearTimeout(timer);
    if (settled) return;
    settled = true;
    socket.destroy();
    done(err, null);
  });
}
