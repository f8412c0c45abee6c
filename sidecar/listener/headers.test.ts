import { describe, expect, it } from "vitest";
import { endToEndHeaders, responseHeaders } from "./headers.js";

describe("endToEndHeaders", () => {
  it("drops hop-by-hop headers, headers named by Connection, and pseudo-headers", () => {
    const out = endToEndHeaders({
      ":path": "/x",
      host: "b",
      connection: "keep-alive, x-private",
      "keep-alive": "timeout=5",
      "transfer-encoding": "chunked",
      "proxy-authorization": "Basic abc",
      "x-private": "1",
      "x-keep": "2",
      "set-cookie": ["a=1", "b=2"],
    });
    expect(out).toEqual({ "x-keep": "2", "set-cookie": ["a=1", "b=2"] });
  });

  it("keeps te: trailers for gRPC but not other te values; responses never carry te", () => {
    expect(endToEndHeaders({ te: "trailers" })).toEqual({ te: "trailers" });
    expect(endToEndHeaders({ te: "gzip" })).toEqual({});
    expect(responseHeaders({ te: "trailers", "content-type": "application/grpc" })).toEqual({ "content-type": "application/grpc" });
  });
});
