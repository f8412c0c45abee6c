import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { MeshResponse } from "../core/handler.js";
import { onBodyEnd } from "./response-end.js";

const response = (body: MeshResponse["body"]): MeshResponse => ({ status: 200, headers: {}, body });

/** Outcomes each waiter saw, in call order: "ok" or the error code/message. */
function watch(res: MeshResponse, n: number): string[] {
  const seen: string[] = [];
  for (let i = 0; i < n; i++) {
    onBodyEnd(res, (err) => seen.push(`${i}:${err ? ((err as { code?: string }).code ?? err.message) : "ok"}`));
  }
  return seen;
}

const tick = () => new Promise((r) => setImmediate(r));

describe("onBodyEnd", () => {
  it("calls every waiter once, in order, when the body ends, and leaves no listeners behind", async () => {
    const body = new PassThrough();
    const seen = watch(response(body), 3);
    expect(seen).toEqual([]);
    body.end("x");
    body.resume();
    await tick();
    expect(seen).toEqual(["0:ok", "1:ok", "2:ok"]);
    body.destroy(); // a later 'close' calls nobody twice
    await tick();
    expect(seen).toHaveLength(3);
    expect(body.listenerCount("end") + body.listenerCount("close") + body.listenerCount("error")).toBe(0);
  });

  it("reports a stream error, and a body closed before its end as TSMESH_ERR_BODY_INCOMPLETE", async () => {
    const failing = new PassThrough();
    const a = watch(response(failing), 2);
    failing.destroy(new Error("upstream reset"));
    await tick();
    expect(a).toEqual(["0:upstream reset", "1:upstream reset"]);

    const abandoned = new PassThrough();
    const b = watch(response(abandoned), 1);
    abandoned.destroy();
    await tick();
    expect(b).toEqual(["0:TSMESH_ERR_BODY_INCOMPLETE"]);
  });

  it("answers at once for no body, a Buffer body, an ended body and a destroyed one", async () => {
    expect(watch(response(null), 1)).toEqual(["0:ok"]);
    expect(watch(response(Buffer.from("whole")), 1)).toEqual(["0:ok"]);
    const ended = Readable.from(["a"]);
    for await (const _ of ended) void _;
    expect(watch(response(ended), 1)).toEqual(["0:ok"]);
    const destroyed = new PassThrough();
    destroyed.on("error", () => {});
    destroyed.destroy(new Error("gone"));
    expect(watch(response(destroyed), 1)).toEqual(["0:gone"]);
  });

  it("a waiter added after a failure that did not destroy the body is still called", async () => {
    const body = new PassThrough({ autoDestroy: false });
    const seen = watch(response(body), 1);
    body.emit("error", new Error("bad chunk"));
    await tick();
    expect(seen).toEqual(["0:bad chunk"]);
    const late = watch(response(body), 1);
    expect(late).toHaveLength(1);
  });
});
