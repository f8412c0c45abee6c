// A raw HTTP/2 client for tests that must put on the wire what node:http2's client refuses to
// send (header values with CR/LF/NUL) or send faster than it would (rapid reset): frames are
// written by hand, header blocks with HPACK literals (no Huffman, no dynamic table).
import net from "node:net";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;

export function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK string length (7-bit prefix integer, Huffman bit off). */
function hpackString(s: string): Buffer {
  const bytes = Buffer.from(s, "latin1");
  const len: number[] = [];
  if (bytes.length < 127) len.push(bytes.length);
  else {
    len.push(127);
    let n = bytes.length - 127;
    while (n >= 128) {
      len.push((n & 127) | 128);
      n >>= 7;
    }
    len.push(n);
  }
  return Buffer.concat([Buffer.from(len), bytes]);
}

/** A header block of "literal without indexing, new name" fields, in order, bytes as given. */
export function headerBlock(fields: [string, string][]): Buffer {
  return Buffer.concat(fields.map(([n, v]) => Buffer.concat([Buffer.from([0]), hpackString(n), hpackString(v)])));
}

/** HEADERS with END_STREAM|END_HEADERS for a GET. */
export function getHeaders(streamId: number, authority: string, path = "/", extra: [string, string][] = []): Buffer {
  const block = headerBlock([[":method", "GET"], [":scheme", "http"], [":path", path], [":authority", authority], ...extra]);
  return frame(FRAME.HEADERS, END_STREAM | END_HEADERS, streamId, block);
}

export function rstStream(streamId: number, code = 8 /* CANCEL */): Buffer {
  const p = Buffer.alloc(4);
  p.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, streamId, p);
}

export interface ReceivedFrame {
  type: number;
  flags: number;
  streamId: number;
  payload: Buffer;
}

export interface RawH2 {
  frames: ReceivedFrame[];
  write(b: Buffer): void;
  /** Resolves with the first received frame `pred` accepts, or undefined at close or after `ms`. */
  waitFor(pred: (f: ReceivedFrame) => boolean, ms: number): Promise<ReceivedFrame | undefined>;
  closed: Promise<void>;
  destroy(): void;
}

/** Connects, sends the preface and an empty SETTINGS, and collects the frames the server sends. */
export function rawH2(port: number): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const frames: ReceivedFrame[] = [];
    const waiters = new Set<() => void>();
    let buf = Buffer.alloc(0);
    socket.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        frames.push({ type: buf[3]!, flags: buf[4]!, streamId: buf.readUInt32BE(5) & 0x7fffffff, payload: buf.subarray(9, 9 + len) });
        buf = buf.subarray(9 + len);
      }
      for (const w of waiters) w();
    });
    socket.on("error", () => {});
    const closed = new Promise<void>((r) =>
      socket.once("close", () => {
        for (const w of waiters) w();
        r();
      }),
    );
    socket.once("connect", () => {
      socket.setNoDelay(true);
      socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
      resolve({
        frames,
        write: (b) => void socket.write(b),
        closed,
        destroy: () => socket.destroy(),
        waitFor(pred, ms) {
          return new Promise((done) => {
            const check = () => {
              const f = frames.find(pred);
              if (f || socket.destroyed) {
                clearTimeout(timer);
                waiters.delete(check);
                done(f);
              }
            };
            const timer = setTimeout(() => (waiters.delete(check), done(frames.find(pred))), ms);
            waiters.add(check);
            check();
          });
        },
      });
    });
    socket.once("error", reject);
  });
}

export function goawayCode(f: ReceivedFrame): number {
  return f.payload.readUInt32BE(4);
}
