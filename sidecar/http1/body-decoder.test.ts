import { describe, expect, it } from "vitest";
import { BodyDecoder } from "./body-decoder.js";
import { ProtocolError } from "./syntax.js";

/** Feeds `wire` in pieces of `step` bytes; returns the body, whether it ended, and the bytes left over. */
function feed(decoder: BodyDecoder, wire: Buffer, step: number): { body: string; done: boolean; rest: string } {
  let body = "";
  let rest = "";
  for (let i = 0; i < wire.length; i += step) {
    const piece = wire.subarray(i, i + step);
    if (decoder.done) {
      rest += piece.toString();
      continue;
    }
    const r = decoder.decode(piece, (c) => (body += c.toString()));
    rest += piece.subarray(r.consumed).toString();
  }
  return { body, done: decoder.done, rest };
}

const CHUNKED = Buffer.from('5;ext=1\r\nhello\r\n6 ; q="a b"\r\n world\r\n0\r\nX: t\r\nY:\tu\r\n\r\nNEXT');

describe("BodyDecoder", () => {
  it.each([1, 2, 3, 7, 1000])("decodes chunked bodies with extensions and trailers, read %i bytes at a time", (step) => {
    expect(feed(new BodyDecoder({ kind: "chunked" }), CHUNKED, step)).toEqual({ body: "hello world", done: true, rest: "NEXT" });
  });

  it("stops a Content-Length body at its length", () => {
    expect(feed(new BodyDecoder({ kind: "length", length: 5 }), Buffer.from("helloNEXT"), 3)).toEqual({ body: "hello", done: true, rest: "NEXT" });
  });

  it("a body read until close never ends by itself", () => {
    expect(feed(new BodyDecoder({ kind: "close" }), Buffer.from("abc"), 2)).toEqual({ body: "abc", done: false, rest: "" });
  });

  it.each([
    ["a non-hex size", "zz\r\n"],
    ["a missing CRLF after the data", "3\r\nabcX\r\n"],
    ["a size line that never ends", "1".repeat(5000)],
    ["a size that would overflow", "fffffffffffff\r\nx"],
    ["a bare CR in a chunk extension", "1;a\rb\r\nx\r\n0\r\n\r\n"],
    ["a bare CR in a trailer", "0\r\nX: a\rb\r\n\r\n"],
    ["a trailer line without a colon", "0\r\nnot a field\r\n\r\n"],
    ["a bare LF ending a trailer", "0\r\nX: a\n\r\n"],
  ])("refuses %s", (_what, wire) => {
    expect(() => feed(new BodyDecoder({ kind: "chunked" }), Buffer.from(wire), 1000)).toThrow(ProtocolError);
  });
});
