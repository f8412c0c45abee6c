import { describe, expect, it } from "vitest";
import { classify } from "./sniff.js";

describe("classify", () => {
  it("tells TLS, HTTP/2 prior knowledge and HTTP/1.x apart", () => {
    expect(classify(Buffer.from([0x16, 0x03, 0x01]))).toBe("tls");
    expect(classify(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))).toBe("h2");
    expect(classify(Buffer.from("GET / HTTP/1.1\r\n"))).toBe("http1");
    expect(classify(Buffer.from("POST"))).toBe("http1");
  });

  it("waits for more bytes while the input is a prefix of the HTTP/2 preface", () => {
    expect(classify(Buffer.alloc(0))).toBeUndefined();
    expect(classify(Buffer.from("PRI * HT"))).toBeUndefined();
    expect(classify(Buffer.from("PRX"))).toBe("http1");
  });
});
