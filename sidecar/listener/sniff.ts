// Protocol sniffing on a fresh connection: a TLS ClientHello starts with record type 0x16, an
// HTTP/2 prior-knowledge client with the "PRI * HTTP/2.0" preface; anything else is HTTP/1.x.
// The bytes read are pushed back (unshift) so the chosen server parses them.
import type { Socket } from "node:net";

export type Sniffed = "tls" | "h2" | "http1";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export function classify(buf: Buffer): Sniffed | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] === 0x16) return "tls";
  const n = Math.min(buf.length, H2_PREFACE.length);
  if (buf.subarray(0, n).equals(H2_PREFACE.subarray(0, n))) return n === H2_PREFACE.length ? "h2" : undefined;
  return "http1";
}

/**
 * Waits for enough bytes to classify the connection (bounded by `timeoutMs`: a silent client is
 * dropped), puts them back and calls `done`. The socket is left paused.
 */
export function sniff(socket: Socket, timeoutMs: number, done: (kind: Sniffed) => void): void {
  let buffered: Buffer | undefined;
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onGone = () => clearTimeout(timer);
  const onData = (chunk: Buffer) => {
    buffered = buffered ? Buffer.concat([buffered, chunk]) : chunk;
    const kind = classify(buffered);
    if (kind === undefined) return;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", onGone);
    socket.pause();
    socket.unshift(buffered);
    done(kind);
  };
  socket.once("close", onGone);
  socket.on("data", onData);
}
