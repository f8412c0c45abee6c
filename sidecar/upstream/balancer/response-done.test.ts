import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { discardResponse, onResponseDone } from "./response-done.js";

const res = (body: Readable | null) => ({ status: 200, headers: {}, body });
const tick = (ms = 10) => new Promise((r) => setTimeout(r, ms));

describe("onResponseDone", () => {
  it("fires once when the body ends, at once for bodiless or finished responses", async () => {
    let n = 0;
    onResponseDone(res(null), () => n++);
    expect(n).toBe(1);
    const body = Readable.from(["a", "b"]);
    onResponseDone(res(body), () => n++);
    expect(n).toBe(1);
    body.resume();
    await tick();
    expect(n).toBe(2);
    onResponseDone(res(body), () => n++);
    expect(n).toBe(3);
  });

  it("fires once when the body is destroyed or errors midway", async () => {
    let n = 0;
    const body = new Readable({ read() {} });
    onResponseDone(res(body), () => n++);
    body.destroy(new Error("reset"));
    await tick();
    expect(n).toBe(1);
  });
});

describe("discardResponse", () => {
  it("drains a small body to its end (connection reusable)", async () => {
    const body = Readable.from([Buffer.alloc(100)]);
    discardResponse(res(body));
    await tick();
    expect(body.readableEnded).toBe(true);
  });

  it("destroys a large body instead of reading it all", async () => {
    let pushed = 0;
    const body = new Readable({
      read() {
        pushed++;
        this.push(Buffer.alloc(16 * 1024));
      },
    });
    discardResponse(res(body));
    await tick(30);
    expect(body.destroyed).toBe(true);
    expect(pushed).toBeLessThan(20);
  });

  it("destroys a body that never ends within a second", async () => {
    const body = new Readable({ read() {} });
    discardResponse(res(body));
    await tick(1100);
    expect(body.destroyed).toBe(true);
  });
});
