import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { MeshRequest, MeshResponse } from "../../core/handler.js";
import { durationMs, isTimeoutReason, TimeoutError, withTimeout } from "./deadline.js";

const req = (signal = new AbortController().signal): MeshRequest => ({
  method: "GET", authority: "a", path: "/", headers: {}, body: { kind: "empty" }, protocol: "http/1.1", signal,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("withTimeout", () => {
  it("rejects with a 504 per-try TimeoutError at the deadline and aborts the attempt's signal with it", async () => {
    let seen: AbortSignal | undefined;
    const started = Date.now();
    const err = await withTimeout(30, "per-try", req(), (r) => {
      seen = r.signal;
      return new Promise<MeshResponse>(() => {});
    }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ status: 504, code: "TSMESH_ERR_TIMEOUT", failure: "timeout", scope: "per-try" });
    expect(seen?.aborted).toBe(true);
    expect(isTimeoutReason(seen?.reason)).toBe(true);
  });

  it("resolves a response in time and never aborts its signal afterwards (streaming body keeps flowing)", async () => {
    let seen: AbortSignal | undefined;
    const res = await withTimeout(30, "route", req(), async (r) => {
      seen = r.signal;
      return { status: 200, headers: {}, body: null };
    });
    expect(res.status).toBe(200);
    await sleep(50);
    expect(seen?.aborted).toBe(false);
  });

  it("propagates a client abort to the attempt (not as a timeout)", async () => {
    const client = new AbortController();
    let seen: AbortSignal | undefined;
    const p = withTimeout(1000, "route", req(client.signal), (r) => {
      seen = r.signal;
      return new Promise<MeshResponse>((_, reject) => r.signal.addEventListener("abort", () => reject(new Error("aborted"))));
    });
    client.abort();
    await expect(p).rejects.toThrow("aborted");
    expect(isTimeoutReason(seen?.reason)).toBe(false);
  });

  it("settles (rejecting with the client's reason) when an answer arrives after the client left", async () => {
    const client = new AbortController();
    const body = new Readable({ read() {} });
    const p = withTimeout(1000, "route", req(client.signal), async () => {
      client.abort(new Error("client gone"));
      return { status: 200, headers: {}, body };
    });
    await expect(p).rejects.toThrow("client gone");
    await sleep(20);
    expect(body.destroyed || body.readableFlowing).toBe(true);
  });

  it("discards a response that arrives after the deadline", async () => {
    const body = new Readable({ read() {} });
    body.push("late");
    body.push(null);
    await expect(
      withTimeout(10, "route", req(), async () => {
        await sleep(40);
        return { status: 200, headers: {}, body };
      }),
    ).rejects.toBeInstanceOf(TimeoutError);
    await sleep(80);
    expect(body.readableEnded || body.destroyed).toBe(true);
  });

  it("runs without a deadline when none is configured", async () => {
    const r = req();
    await withTimeout(undefined, "route", r, async (got) => {
      expect(got).toBe(r);
      return { status: 204, headers: {}, body: null };
    });
  });
});

describe("durationMs", () => {
  it("parses and memoises route durations", () => {
    expect(durationMs("1m30s")).toBe(90_000);
    expect(durationMs("250ms")).toBe(250);
    expect(durationMs(undefined)).toBeUndefined();
    expect(() => durationMs("5 seconds")).toThrow(/invalid duration/);
  });
});
