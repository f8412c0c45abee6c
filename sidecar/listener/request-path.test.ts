import { describe, expect, it } from "vitest";
import { normalizeRequestPath } from "./request-path.js";

const norm = (target: string, mode: "REJECT" | "KEEP" = "REJECT") => {
  const r = normalizeRequestPath(target, mode);
  return r.ok ? r.path : r.code;
};

describe("normalizeRequestPath", () => {
  it.each([
    ["/", "/"],
    ["/api/books", "/api/books"],
    ["/img/a.png", "/img/a.png"],
    ["/a/", "/a/"],
    ["//admin", "/admin"],
    ["///a//b///", "/a/b/"],
    ["/./admin", "/admin"],
    ["/x/../admin", "/admin"],
    ["/a/b/../c/./d//e", "/a/c/d/e"],
    ["/../..", "/"],
    ["/a/..", "/"],
    ["/a/b/..", "/a/"],
    ["/a/.", "/a/"],
    ["/%61dmin", "/admin"],
    ["/%7Euser/%7e", "/~user/~"],
    ["/%2e%2e/admin", "/admin"],
    ["/x/%2E%2e/admin", "/admin"],
    ["/x/.%2e/admin", "/admin"],
    ["/%2e/admin", "/admin"],
    ["/a%2db", "/a-b"],
    ["/a%3fb", "/a%3Fb"],
    ["/a%25b", "/a%25b"],
    ["/%2561dmin", "/%2561dmin"],
    ["/a%c3%a9", "/a%C3%A9"],
    ["/...", "/..."],
    ["/.", "/"],
    ["/..", "/"],
    ["//", "/"],
    ["/a/..b/.c", "/a/..b/.c"],
    ["/.a/..b", "/.a/..b"],
    ["/a:b@c!$&'()*+,;=", "/a:b@c!$&'()*+,;="],
  ])("%s -> %s", (input, out) => {
    expect(norm(input)).toBe(out);
  });

  it("keeps the query exactly as sent, dot segments and escapes included", () => {
    expect(norm("/x/../a?b=/../c&d=%2F%zz")).toBe("/a?b=/../c&d=%2F%zz");
    expect(norm("/a?")).toBe("/a?");
    expect(norm("//a?q")).toBe("/a?q");
  });

  it.each([
    ["/%2Fadmin", "TSMESH_ERR_ESCAPED_SLASH"],
    ["/%2fadmin", "TSMESH_ERR_ESCAPED_SLASH"],
    ["/a%5Cb", "TSMESH_ERR_ESCAPED_SLASH"],
    ["/a%5cb", "TSMESH_ERR_ESCAPED_SLASH"],
    ["/a\\b", "TSMESH_ERR_BAD_PATH"],
    ["/\\admin", "TSMESH_ERR_BAD_PATH"],
    ["/a%00", "TSMESH_ERR_BAD_PATH"],
    ["/a\0", "TSMESH_ERR_BAD_PATH"],
    ["/%zz", "TSMESH_ERR_BAD_PATH"],
    ["/%", "TSMESH_ERR_BAD_PATH"],
    ["/%4", "TSMESH_ERR_BAD_PATH"],
    ["/%4g", "TSMESH_ERR_BAD_PATH"],
    ["/a#frag", "TSMESH_ERR_BAD_PATH"],
    ["/a?b#frag", "TSMESH_ERR_BAD_PATH"],
    ["/a b", "TSMESH_ERR_BAD_PATH"],
    ["/a?b c", "TSMESH_ERR_BAD_PATH"],
    ["/caf\u00e9", "TSMESH_ERR_BAD_PATH"],
    ["/a\x7f", "TSMESH_ERR_BAD_PATH"],
    ["*", "TSMESH_ERR_BAD_PATH"],
    ["admin", "TSMESH_ERR_BAD_PATH"],
    ["", "TSMESH_ERR_BAD_PATH"],
  ])("refuses %j with %s", (input, code) => {
    expect(norm(input)).toBe(code);
  });

  it("says what to do next", () => {
    const r = normalizeRequestPath("/%2Fadmin");
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain("escapedSlashes: KEEP");
  });

  it("with escapedSlashes KEEP, leaves %2F and %5C encoded (data, not a separator) and normalises the rest", () => {
    expect(norm("/%2Fadmin", "KEEP")).toBe("/%2Fadmin");
    expect(norm("/%2fadmin", "KEEP")).toBe("/%2Fadmin");
    expect(norm("/a%5cb", "KEEP")).toBe("/a%5Cb");
    // "..%2F" is one segment, not a dot segment: it stays, and a rule for "/admin" does not match it.
    expect(norm("/x/..%2Fadmin", "KEEP")).toBe("/x/..%2Fadmin");
    expect(norm("//x/./%61%2F/../b", "KEEP")).toBe("/x/b");
    expect(norm("/a\\b", "KEEP")).toBe("TSMESH_ERR_BAD_PATH");
    expect(norm("/a%00", "KEEP")).toBe("TSMESH_ERR_BAD_PATH");
  });

  it("is idempotent: a normalised path normalises to itself", () => {
    for (const p of ["//a/./b/../c/", "/%61%2e%2e/x", "/a%3f%25?q=//", "/x/.%2e/y/."]) {
      const once = norm(p);
      expect(norm(once)).toBe(once);
      const kept = norm(p + "%2f", "KEEP");
      expect(norm(kept, "KEEP")).toBe(kept);
    }
  });
});
