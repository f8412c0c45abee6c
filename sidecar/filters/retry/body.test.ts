import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { describe, expect, it } from "vitest";
import { makeReplayable } from "./body.js";

function slowStream(chunks: string[]): Readable {
  let i = 0;
  return new Readable({
    read() {
      setTimeout(() => this.push(i < chunks.length ? Buffer.from(chunks[i++]!) : null), 1);
    },
  });
}

describe("makeReplayable", () => {
  it("buffers a streamed body under the cap", async () => {
    const { body, replayable } = await makeReplayable({ kind: "stream", stream: slowStream(["ab", "cd"]) }, 10);
    expect(replayable).toBe(true);
    expect(body).toEqual({ kind: "buffered", data: Buffer.from("abcd") });
  });

  it("streams a body over the cap through once, with the bytes already read in front", async () => {
    const chunks = Array.from({ length: 20 }, (_, i) => `chunk${i};`);
    const { body, replayable } = await makeReplayable({ kind: "stream", stream: slowStream(chunks) }, 16);
    expect(replayable).toBe(false);
    if (body.kind !== "stream") throw new Error("expected a stream");
    expect(await text(body.stream)).toBe(chunks.join(""));
  });

  it("does not read a body whose declared length exceeds the cap", async () => {
    const stream = slowStream(["x"]);
    const { body, replayable } = await makeReplayable({ kind: "stream", stream, length: 100 }, 10);
    expect(replayable).toBe(false);
    expect(body).toMatchObject({ kind: "stream", stream });
    expect(stream.readableFlowing).toBe(null);
  });

  it("keeps empty and buffered bodies as they are", async () => {
    expect(await makeReplayable({ kind: "empty" })).toEqual({ body: { kind: "empty" }, replayable: true });
  });

  it("turns a client abort while buffering into a 400 MeshError", async () => {
    const stream = new Readable({ read() {} });
    const p = makeReplayable({ kind: "stream", stream }, 100);
    stream.destroy(new Error("socket hang up"));
    await expect(p).rejects.toMatchObject({ status: 400, code: "TSMESH_ERR_REQUEST_BODY" });
  });
});
