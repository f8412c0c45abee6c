// Regression for "intermittent h2c 502 just after an HTTP/2 rapid-reset flood": the flood made the
// peer send GOAWAY, and a request already on its way over that session failed with 502. The test
// server sends GOAWAY at a chosen moment (when a chosen stream arrives), not by timing.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MeshError, type MeshRequest } from "../core/handler.js";
import { newContext } from "../listener/context.js";
import { H2Session } from "./h2-sessions.js";
import { createPlaintextClient } from "./plaintext-client.js";
import { sendH2 } from "./send-h2.js";

const { NGHTTP2_NO_ERROR, NGHTTP2_INTERNAL_ERROR } = http2.constants;
const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

interface Seen {
  connections: number;
  /** "<connection>:<stream id> <method> <path> <body>" per stream the server saw. */
  streams: string[];
}

/**
 * Answers every stream with 200 "<connection>:<path>", except the one `goawayOn` picks: on that
 * one it sends GOAWAY(code, lastStreamID) and leaves the stream unanswered.
 */
async function server(goawayOn: (conn: number, id: number) => { code: number; last: number } | undefined): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { connections: 0, streams: [] };
  const srv = http2.createServer();
  srv.on("session", (s) => {
    s.on("error", () => {});
    (s as unknown as { conn: number }).conn = ++seen.connections;
  });
  srv.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    const conn = (stream.session as unknown as { conn: number }).conn;
    let body = "";
    stream.on("data", (c: Buffer) => (body += c.toString()));
    stream.on("end", () => {
      seen.streams.push(`${conn}:${stream.id} ${headers[":method"]} ${headers[":path"]} ${body}`);
      const g = goawayOn(conn, stream.id!);
      if (g) {
        stream.session!.goaway(g.code, g.last);
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end(`${conn}:${headers[":path"]}`);
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  closers.push(() => srv.close());
  return { port: (srv.address() as AddressInfo).port, seen };
}

/** The h2c client the inbound sidecar uses towards its app. */
function appClient(port: number): (r: MeshRequest) => ReturnType<ReturnType<typeof createPlaintextClient>["handler"]> {
  const client = createPlaintextClient("127.0.0.1", port, "app");
  closers.unshift(() => void client.close());
  return (r) => client.handler(r, newContext(undefined));
}

function session(url: string): H2Session {
  const h2 = new H2Session(url);
  closers.unshift(() => h2.destroy());
  return h2;
}

function req(path: string, body?: string): MeshRequest {
  return {
    method: body ? "POST" : "GET",
    authority: "app",
    path,
    headers: {},
    body: body ? { kind: "buffered", data: Buffer.from(body) } : { kind: "empty" },
    protocol: "h2",
    signal: new AbortController().signal,
  };
}

async function text(body: NodeJS.ReadableStream | Buffer | null): Promise<string> {
  if (Buffer.isBuffer(body)) return body.toString();
  let s = "";
  for await (const c of body!) s += String(c);
  return s;
}

describe("h2c 502 after the peer's GOAWAY", () => {
  it.each([
    ["INTERNAL_ERROR (what nghttp2's reset-flood limit sends)", NGHTTP2_INTERNAL_ERROR],
    ["NO_ERROR (graceful shutdown)", NGHTTP2_NO_ERROR],
  ])("a stream above the GOAWAY's last stream id is sent once more on a fresh session: %s", async (_name, code) => {
    // First connection: stream 1 is answered; stream 3 gets GOAWAY(last 1): never processed.
    const { port, seen } = await server((conn, id) => (conn === 1 && id === 3 ? { code, last: 1 } : undefined));
    const send = appClient(port);
    const first = await send(req("/a"));
    expect(await text(first.body)).toBe("1:/a");
    const second = await send(req("/b", "payload"));
    expect(second.status).toBe(200);
    expect(await text(second.body)).toBe("2:/b");
    expect(seen.connections).toBe(2);
    expect(seen.streams).toEqual(["1:1 GET /a ", "1:3 POST /b payload", "2:1 POST /b payload"]);
  });

  it("a stream the GOAWAY says was processed is not sent again", async () => {
    const { port, seen } = await server((_conn, id) => (id === 1 ? { code: NGHTTP2_INTERNAL_ERROR, last: 1 } : undefined));
    const err = await appClient(port)(req("/once")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MeshError);
    expect((err as MeshError).status).toBe(502);
    expect(seen.streams).toEqual(["1:1 GET /once "]);
  });

  it("a session that received GOAWAY leaves the pool at once, before its open streams finish", async () => {
    let release: (() => void) | undefined;
    const srv = http2.createServer();
    let connections = 0;
    srv.on("session", (s) => (s.on("error", () => {}), connections++));
    srv.on("stream", (stream) => {
      stream.on("error", () => {});
      if (connections === 1 && stream.id === 1) {
        stream.session!.goaway(NGHTTP2_NO_ERROR, 1);
        release = () => (stream.respond({ ":status": 200 }), stream.end("slow"));
        return;
      }
      stream.respond({ ":status": 200 });
      stream.end(`conn ${connections}`);
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    closers.push(() => srv.close());
    const h2 = session(`http://127.0.0.1:${(srv.address() as AddressInfo).port}`);
    const old = h2.get();
    const slow = sendH2(h2, req("/slow"), "http", "app");
    await new Promise((r) => old.once("goaway", r));
    const next = await sendH2(h2, req("/next"), "http", "app");
    expect(await text(next.body)).toBe("conn 2");
    release!();
    expect(await text((await slow).body)).toBe("slow");
  });
});
