import { Readable } from "node:stream";
import { buffer, text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { replayable } from "./body.js";

function slowStream(chunks: string[], gapMs = 1): Readable {
  let i = 0;
  return new Readable({
    read() {
      setTimeout(() => this.push(i < chunks.length ? Buffer.from(chunks[i++]!) : null), gapMs);
    },
  });
}

describe("replayable", () => {
  it("streams the body to the first attempt and replays an identical copy once it ended", async () => {
    const body = replayable({ kind: "stream", stream: slowStream(["ab", "cd"]) }, 10);
    if (body.first.kind !== "stream") throw new Error("expected a stream");
    expect(await text(body.first.stream)).toBe("abcd");
    expect(await body.ready(0)).toBe(true);
    expect(body.replay()).toEqual({ kind: "buffered", data: Buffer.from("abcd") });
  });

  it("records the body even when the first attempt never reads it (connect failure)", async () => {
    const body = replayable({ kind: "stream", stream: slowStream(["ab", "cd"]) }, 10);
    expect(await body.ready(1000)).toBe(true);
    expect(body.replay()).toEqual({ kind: "buffered", data: Buffer.from("abcd") });
  });

  it("hands chunks to the first attempt before the body ends (streaming calls are not held back)", async () => {
    const source = new Readable({ read() {} });
    const body = replayable({ kind: "stream", stream: source });
    if (body.first.kind !== "stream") throw new Error("expected a stream");
    source.push("hello");
    const first = await new Promise<Buffer>((r) => (body.first as { stream: Readable }).stream.once("data", r));
    expect(first.toString()).toBe("hello");
    expect(body.state()).toBe("reading");
    expect(await body.ready(20)).toBe(false);
    source.push(null);
    expect(await body.ready(1000)).toBe(true);
  });

  it("streams a body over the cap through whole and refuses to replay it", async () => {
    const chunks = Array.from({ length: 20 }, (_, i) => `chunk${i};`);
    const body = replayable({ kind: "stream", stream: slowStream(chunks) }, 16);
    if (body.first.kind !== "stream") throw new Error("expected a stream");
    expect(await text(body.first.stream)).toBe(chunks.join(""));
    expect(body.state()).toBe("too-large");
    expect(await body.ready(0)).toBe(false);
  });

  it("keeps backpressure past the cap: a large body is not read faster than the attempt consumes it", async () => {
    const source = new Readable({ read() {} });
    const body = replayable({ kind: "stream", stream: source }, 1024);
    for (let i = 0; i < 64; i++) source.push(Buffer.alloc(16 * 1024));
    await new Promise((r) => setTimeout(r, 20));
    expect(source.isPaused()).toBe(true);
    source.push(null);
    const all = await buffer((body.first as { stream: Readable }).stream);
    expect(all.length).toBe(64 * 16 * 1024);
  });

  it("does not touch a body whose declared length exceeds the cap; empty bodies replay as they are", async () => {
    const stream = slowStream(["x"]);
    const body = replayable({ kind: "stream", stream, length: 100 }, 10);
    expect(body.first).toMatchObject({ kind: "stream", stream });
    expect(stream.readableFlowing).toBe(null);
    expect(await body.ready(0)).toBe(false);
    expect(await replayable({ kind: "empty" }).ready(0)).toBe(true);
  });

  it("marks a body the client abandoned as failed", async () => {
    const stream = new Readable({ read() {} });
    const body = replayable({ kind: "stream", stream }, 100);
    stream.destroy(new Error("socket hang up"));
    expect(await body.ready(100)).toBe(false);
    expect(body.state()).toBe("failed");
  });
});
