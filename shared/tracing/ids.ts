// Trace and span ids for every request, sampled or not: slices of a pool of crypto-random bytes
// in hex (one randomBytes call per ~340 requests) instead of Math.random per 4 bytes. The next
// trace id can be preset so a span the SDK starts gets the id the sampling decision was made on.
import { randomBytes } from "node:crypto";
import type { IdGenerator } from "@opentelemetry/sdk-trace-base";

const POOL_BYTES = 8192;
const ZERO_TRACE = "0".repeat(32);
const ZERO_SPAN = "0".repeat(16);

export class PooledIdGenerator implements IdGenerator {
  private pool = randomBytes(POOL_BYTES);
  /** The pool in hex, converted at once: an id is a slice of it (no copy, no per-id encoding). */
  private hex = this.pool.toString("hex");
  private offset = 0;
  private preset: string | undefined;

  /** The last generated (not preset) trace id, and its four 32-bit words XORed (ratio sampling). */
  lastTraceId = "";
  lastTraceXor = 0;

  generateTraceId = (): string => {
    const preset = this.preset;
    if (preset !== undefined) {
      this.preset = undefined;
      return preset;
    }
    const id = this.take(16, ZERO_TRACE);
    const p = this.pool;
    const o = this.offset - 16;
    this.lastTraceXor = (p.readUInt32BE(o) ^ p.readUInt32BE(o + 4) ^ p.readUInt32BE(o + 8) ^ p.readUInt32BE(o + 12)) >>> 0;
    this.lastTraceId = id;
    return id;
  };

  generateSpanId = (): string => this.take(8, ZERO_SPAN);

  /** The next generateTraceId() returns this id (consumed by one call); undefined clears it. */
  presetTraceId(traceId: string | undefined): void {
    this.preset = traceId;
  }

  private take(bytes: number, zero: string): string {
    for (;;) {
      if (this.offset + bytes > POOL_BYTES) {
        this.pool = randomBytes(POOL_BYTES);
        this.hex = this.pool.toString("hex");
        this.offset = 0;
      }
      const id = this.hex.slice(this.offset * 2, (this.offset + bytes) * 2);
      this.offset += bytes;
      // All-zero ids are invalid in W3C and B3; draw again (p = 2^-64 per span id).
      if (id !== zero) return id;
    }
  }
}
