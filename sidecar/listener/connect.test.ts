// CONNECT on MeshListener over real sockets: a served tunnel's requests (HTTP/1.1 and HTTP/2
// prior knowledge) reach the listener's handler with the CONNECT authority as their default; a
// piped tunnel is a byte pipe; refusals and malformed targets are answered and change nothing.
import http2 from "node:http2";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../shared/log.js";
import { MeshError, type Handler } from "../core/handler.js";
import type { ConnectHook } from "./connect.js";
import { MeshListener } from "./server.js";

const closers: (() => void)[] = [];
afterEach(() => closers.splice(0).forEach((c) => c()));

/** Answers with the authority and path it was asked for. */
const whoAmI: Handler = async (req) => ({ status: 200, headers: {}, body: Buffer.from(`${req.protocol} ${req.authority} ${req.path}`) });

async function listen(connect?: ConnectHook): Promise<MeshListener> {
  const listener = new MeshListener({ name: "t", host: "127.0.0.1", port: 0, handler: whoAmI, log: createLogger("t", { level: "error" }), connect });
  await listener.listen();
  closers.push(() => listener.close());
  return listener;
}

/** Sends a CONNECT and resolves with the socket and the response head once it arrived. */
function connectVia(port: number, target: string): Promise<{ socket: net.Socket; head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    closers.push(() => socket.destroy());
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      socket.off("data", onData);
      socket.pause();
      resolve({ socket, head: buf.toString("latin1", 0, end), rest: buf.subarray(end + 4) });
    };
    socket.on("data", onData);
    socket.once("error", reject);
    socket.once("close", () => resolve({ socket, head: buf.toString("latin1"), rest: Buffer.alloc(0) }));
    socket.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);
  });
}

/** Reads from `socket` until `done(text)` or the socket closes. */
function readUntil(socket: net.Socket, done: (text: string) => boolean, first = ""): Promise<string> {
  return new Promise((resolve) => {
    let text = first;
    if (done(text)) return resolve(text);
    socket.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (done(text)) resolve(text);
    });
    socket.once("close", () => resolve(text));
    socket.resume();
  });
}

const serve: ConnectHook = async () => ({ kind: "serve" });

describe("CONNECT on the listener", () => {
  it("a served tunnel: HTTP/1.1 requests inside reach the handler, one without Host takes the tunnel's authority", async () => {
    const l = await listen(serve);
    const { socket, head } = await connectVia(l.port, "greeter:50051");
    expect(head).toBe("HTTP/1.1 200 Connection Established");
    socket.write("GET /a HTTP/1.1\r\nHost: greeter:50051\r\n\r\n");
    const first = await readUntil(socket, (t) => t.includes("http/1.1 greeter:50051 /a"));
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    socket.removeAllListeners("data");
    socket.write("GET /b HTTP/1.0\r\n\r\n");
    expect(await readUntil(socket, (t) => t.includes("/b"))).toContain("http/1.1 greeter:50051 /b");
  });

  it("a served tunnel: HTTP/2 prior knowledge inside (what grpc-js speaks); a stream's own :authority is routed on", async () => {
    const l = await listen(serve);
    const { socket, head } = await connectVia(l.port, "greeter:50051");
    expect(head).toBe("HTTP/1.1 200 Connection Established");
    const session = http2.connect("http://greeter:50051", { createConnection: () => socket });
    closers.push(() => session.destroy());
    const get = (headers: http2.OutgoingHttpHeaders) =>
      new Promise<string>((resolve, reject) => {
        const s = session.request(headers);
        let body = "";
        s.on("data", (d: Buffer) => (body += d.toString()));
        s.on("end", () => resolve(body));
        s.on("error", reject);
      });
    expect(await get({ ":path": "/x" })).toBe("h2 greeter:50051 /x");
    expect(await get({ ":path": "/y", ":authority": "other:1" })).toBe("h2 other:1 /y");
  });

  it("bytes the client sends right behind its CONNECT are served inside the tunnel", async () => {
    const l = await listen(serve);
    const socket = net.connect(l.port, "127.0.0.1");
    closers.push(() => socket.destroy());
    socket.write("CONNECT greeter:50051 HTTP/1.1\r\nHost: greeter:50051\r\n\r\nGET /eager HTTP/1.1\r\nHost: greeter\r\n\r\n");
    const out = await readUntil(socket, (t) => t.includes("/eager"));
    expect(out).toMatch(/^HTTP\/1\.1 200 Connection Established\r\n\r\nHTTP\/1\.1 200 /);
    expect(out).toContain("http/1.1 greeter /eager");
  });

  it("a piped tunnel is a byte pipe to the socket the hook opened, both ways", async () => {
    const echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    closers.push(() => echo.close());
    const echoPort = (echo.address() as net.AddressInfo).port;
    const seen: string[] = [];
    const l = await listen(async (t) => {
      seen.push(`${t.hostname}|${t.port}`);
      const s = net.connect(t.port, t.hostname);
      await new Promise((r) => s.once("connect", r));
      return { kind: "pipe", socket: s };
    });
    const { socket, head } = await connectVia(l.port, `127.0.0.1:${echoPort}`);
    expect(head).toBe("HTTP/1.1 200 Connection Established");
    socket.write("not http at all\x00\x01");
    expect(await readUntil(socket, (t) => t.length >= 17)).toBe("not http at all\x00\x01");
    expect(seen).toEqual([`127.0.0.1|${echoPort}`]);
    expect(l.inflight.size).toBe(1);
    socket.destroy();
    const deadline = Date.now() + 2000;
    while (l.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(l.inflight.size).toBe(0);
  });

  it("a refusal from the hook is the answer, and the connection closes", async () => {
    const l = await listen(async () => {
      throw new MeshError(502, "TSMESH_ERR_NOT_IN_MESH", "not in the mesh");
    });
    const { socket, head, rest: first } = await connectVia(l.port, "example.com:443");
    expect(head).toMatch(/^HTTP\/1\.1 502 /);
    expect(head.toLowerCase()).toContain("x-tsmesh-error: tsmesh_err_not_in_mesh");
    expect(head.toLowerCase()).toContain("connection: close");
    const rest = await readUntil(socket, () => false, first.toString("latin1"));
    expect(rest).toContain("TSMESH_ERR_NOT_IN_MESH");
    expect(socket.readableEnded || socket.destroyed).toBe(true);
  });

  it.each([
    ["no port", "greeter"],
    ["empty port", "greeter:"],
    ["port out of range", "greeter:70000"],
    ["userinfo", "evil@greeter:80"],
    ["a path", "greeter:80/x"],
    ["an absolute URI", "http://greeter:80"],
    ["garbage", "%%%:::"],
    ["unbracketed IPv6", "::1:80"],
  ])("a malformed CONNECT target (%s) gets 400, the hook is not asked, the listener keeps serving", async (_name, target) => {
    let asked = 0;
    const l = await listen(async () => {
      asked++;
      return { kind: "serve" };
    });
    const { head } = await connectVia(l.port, target);
    expect(head).toMatch(/^HTTP\/1\.1 400 /);
    expect(asked).toBe(0);
    const { head: ok } = await connectVia(l.port, "greeter:50051");
    expect(ok).toBe("HTTP/1.1 200 Connection Established");
  });

  it("a listener without a hook (inbound) answers CONNECT 405; so does a CONNECT inside a tunnel", async () => {
    const plain = await listen();
    expect((await connectVia(plain.port, "greeter:50051")).head).toMatch(/^HTTP\/1\.1 405 /);
    const l = await listen(serve);
    const { socket } = await connectVia(l.port, "greeter:50051");
    socket.write("CONNECT other:80 HTTP/1.1\r\nHost: other:80\r\n\r\n");
    expect(await readUntil(socket, (t) => t.includes("\r\n\r\n"))).toMatch(/^HTTP\/1\.1 405 /);
  });
});
