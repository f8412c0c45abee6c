import { describe, expect, it } from "vitest";
import { parseDocuments } from "./apply.js";

describe("parseDocuments", () => {
  it("reads multi-document YAML, JSON, lists and arrays, skipping empty documents", () => {
    const text = "a: 1\n---\n---\n{\"b\": 2}\n---\nkind: List\nitems: [{c: 3}, {d: 4}]\n---\n[{e: 5}]\n";
    expect(parseDocuments(text)).toEqual([{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }, { e: 5 }]);
  });

  it("reports YAML syntax errors with the document number", () => {
    expect(() => parseDocuments("a: 1\n---\nb: [1, 2\n")).toThrow(/document 2/);
  });
});
