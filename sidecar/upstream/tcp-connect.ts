// Opens a plaintext TCP connection (sidecar -> local app), bounded like the mTLS one.
import net from "node:net";
import { whenConnected } from "./connect-bounded.js";

export function connectTcp(host: string, port: number, done: (err: Error | null, socket: net.Socket | null) => void): void {
  whenConnected(
    net.connect({ host, port, noDelay: true }),
    "connect",
    (socket) => done(null, socket),
    (err) => done(err, null),
  );
}
