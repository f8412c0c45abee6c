// Writes one chunk of a chunked body (RFC 9112 §7.1): size line, data, CRLF, in one write.
import type { Socket } from "node:net";

export const LAST_CHUNK = "0\r\n\r\n";

/** False when the socket wants the writer to wait for 'drain'. */
export function writeChunk(socket: Socket, chunk: Buffer): boolean {
  if (chunk.length === 0) return true;
  socket.cork();
  socket.write(`${chunk.length.toString(16)}\r\n`, "latin1");
  socket.write(chunk);
  const ok = socket.write("\r\n", "latin1");
  socket.uncork();
  return ok;
}
