import jsonpatch from "fast-json-patch";
import { describe, expect, it } from "vitest";
import { diff, pointer, toJsonPatch } from "./json-patch.js";

const apply = (doc: unknown, before: unknown, after: unknown) =>
  jsonpatch.applyPatch(structuredClone(doc), toJsonPatch(diff(before, after)) as jsonpatch.Operation[], true, false).newDocument;

describe("diff", () => {
  it("escapes ~ and / in pointers (RFC 6901)", () => {
    expect(pointer(["metadata", "annotations", "tsmesh.dev/injected"])).toBe("/metadata/annotations/tsmesh.dev~1injected");
    expect(pointer(["a~/b", 0])).toBe("/a~0~1b/0");
  });

  it("inserts array elements instead of replacing the array", () => {
    const before = { list: [{ n: "u1" }, { n: "u2" }] };
    const after = { list: [{ n: "a" }, { n: "b" }, { n: "u1" }, { n: "u2" }, { n: "z" }] };
    const ops = toJsonPatch(diff(before, after));
    expect(ops).toEqual([
      { op: "add", path: "/list/0", value: { n: "a" } },
      { op: "add", path: "/list/1", value: { n: "b" } },
      { op: "add", path: "/list/4", value: { n: "z" } },
    ]);
    expect(apply(before, before, after)).toEqual(after);
  });

  it("produces nothing for equal values and per-field replaces for same-length arrays", () => {
    expect(diff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] })).toEqual([]);
    const before = { c: [{ name: "x", image: "old" }] };
    const after = { c: [{ name: "x", image: "new" }] };
    expect(toJsonPatch(diff(before, after))).toEqual([{ op: "replace", path: "/c/0/image", value: "new" }]);
  });

  it("round-trips arbitrary changes through an independent RFC 6902 implementation", () => {
    const cases: [unknown, unknown][] = [
      [{ a: 1, b: { "x/y": 2, "t~": 3 } }, { b: { "x/y": 4, new: [1] }, c: null }],
      [{ l: [1, 2, 3] }, { l: [3, 2] }],
      [{ l: [1, 2, 3] }, { l: "now a string" }],
      [{ m: {} }, { m: { "tsmesh.dev/injected": "true" } }],
    ];
    for (const [before, after] of cases) expect(apply(before, before, after)).toEqual(after);
  });
});
