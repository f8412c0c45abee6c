import { describe, expect, it } from "vitest";
import { MeshError } from "../core/handler.js";
import { upstreamError } from "./errors.js";

const live = new AbortController().signal;

describe("upstreamError", () => {
  it("classifies connect failures, resets, header timeouts and refused streams", () => {
    const code = (c: string, message = "") => Object.assign(new Error(message), { code: c });
    expect(upstreamError(code("ECONNREFUSED"), live, "x")).toMatchObject({ status: 502, failure: "connect-failure", code: "TSMESH_ERR_UPSTREAM_CONNECT" });
    expect(upstreamError(code("UND_ERR_SOCKET"), live, "x")).toMatchObject({ status: 502, failure: "reset" });
    expect(upstreamError(code("UND_ERR_HEADERS_TIMEOUT"), live, "x")).toMatchObject({ status: 504, failure: "timeout" });
    expect(upstreamError(code("ERR_HTTP2_STREAM_ERROR", "Stream closed with error code NGHTTP2_REFUSED_STREAM"), live, "x")).toMatchObject({
      status: 503,
      failure: "refused-stream",
    });
  });

  it("an aborted attempt reports the abort reason (timeout, client gone), not the client's error", () => {
    const c = new AbortController();
    const reason = new MeshError(504, "TSMESH_ERR_TIMEOUT", "per-try timeout", {}, "timeout");
    c.abort(reason);
    expect(upstreamError(new Error("aborted"), c.signal, "x")).toBe(reason);
  });
});
