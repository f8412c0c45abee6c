// Message body framing (RFC 9112 §6-7), for requests (listener) and responses (client): hands
// out the body's bytes from what the socket reads and says where the body ends, so leftover
// bytes are never taken as body (or as the next message). Content-Length, chunked (extensions
// and trailers read and dropped) or until close.
import { ProtocolError } from "./syntax.js";

export type Framing =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  /** Read until the server closes the connection (no length, not chunked). */
  | { kind: "close" };

const MAX_CHUNK_LINE = 4096;
/**
 * Hex size (12 digits at most: no overflow), then extensions. Trailer fields are name ":" value.
 * Both are dropped, yet a bare CR or other CTL in them is refused, as llhttp does: a next hop
 * reading them differently could end the body elsewhere.
 */
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const SIZE_LINE = /^([0-9a-fA-F]{1,12})(?:[ \t]*;[^\x00-\x08\x0a-\x1f\x7f]*)?\r\n$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const TRAILER_FIELD = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[^\x00-\x08\x0a-\x1f\x7f]*$/;
const MAX_TRAILERS = 16 * 1024;

const enum State {
  Size,
  Data,
  DataEnd,
  Trailers,
  Done,
}

export interface DecodeResult {
  /** Index in the input where this body's bytes stop (the rest belongs to the connection). */
  consumed: number;
  done: boolean;
}

export class BodyDecoder {
  private remaining: number;
  private state: State;
  /** Bytes of a size line or trailer section carried over between reads. */
  private line = "";

  constructor(private readonly framing: Framing) {
    this.remaining = framing.kind === "length" ? framing.length : 0;
    this.state = framing.kind === "none" || (framing.kind === "length" && framing.length === 0) ? State.Done : framing.kind === "chunked" ? State.Size : State.Data;
  }

  get done(): boolean {
    return this.state === State.Done;
  }

  /** Until-close bodies end when the connection does; others are then cut short. */
  get endsAtClose(): boolean {
    return this.framing.kind === "close";
  }

  /** Feeds `buf`; `onData` gets body bytes (subarrays of buf). */
  decode(buf: Buffer, onData: (chunk: Buffer) => void): DecodeResult {
    if (this.framing.kind === "close") {
      if (buf.length > 0) onData(buf);
      return { consumed: buf.length, done: false };
    }
    if (this.framing.kind === "length") {
      const take = Math.min(this.remaining, buf.length);
      if (take > 0) onData(take === buf.length ? buf : buf.subarray(0, take));
      this.remaining -= take;
      if (this.remaining === 0) this.state = State.Done;
      return { consumed: take, done: this.done };
    }
    return this.chunked(buf, onData);
  }

  private chunked(buf: Buffer, onData: (chunk: Buffer) => void): DecodeResult {
    let i = 0;
    while (i < buf.length && this.state !== State.Done) {
      switch (this.state) {
        case State.Size: {
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? buf.length : nl + 1;
          this.line += buf.toString("latin1", i, end);
          i = end;
          if (this.line.length > MAX_CHUNK_LINE) throw new ProtocolError("chunk size line too long");
          if (nl < 0) break;
          const m = SIZE_LINE.exec(this.line);
          if (!m) throw new ProtocolError("malformed chunk size");
          this.line = "";
          this.remaining = parseInt(m[1]!, 16);
          this.state = this.remaining === 0 ? State.Trailers : State.Data;
          break;
        }
        case State.Data: {
          const take = Math.min(this.remaining, buf.length - i);
          onData(buf.subarray(i, i + take));
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = State.DataEnd;
          break;
        }
        case State.DataEnd: {
          // The CRLF after a chunk's data, possibly split across reads.
          const take = Math.min(2 - this.line.length, buf.length - i);
          this.line += buf.toString("latin1", i, i + take);
          i += take;
          if (this.line.length < 2) break;
          if (this.line !== "\r\n") throw new ProtocolError("missing CRLF after chunk data");
          this.line = "";
          this.state = State.Size;
          break;
        }
        case State.Trailers: {
          const nl = buf.indexOf(10, i);
          const end = nl < 0 ? buf.length : nl + 1;
          this.line += buf.toString("latin1", i, end);
          i = end;
          if (this.line.length > MAX_TRAILERS) throw new ProtocolError("trailer section too large");
          if (nl < 0) break;
          // The section ends with an empty line: "\r\n" alone, or after trailer fields.
          if (this.line === "\r\n" || this.line.endsWith("\r\n\r\n")) {
            this.line = "";
            this.state = State.Done;
          } else {
            const prev = this.line.lastIndexOf("\r\n", this.line.length - 3);
            if (!this.line.endsWith("\r\n") || !TRAILER_FIELD.test(this.line.slice(prev < 0 ? 0 : prev + 2, -2))) throw new ProtocolError("malformed trailer line");
          }
          break;
        }
      }
    }
    return { consumed: i, done: this.done };
  }
}
