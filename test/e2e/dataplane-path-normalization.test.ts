// A DENY rule is bypassed by an encoded slash (issue 12 item 3): DENY "/admin*" refused "/admin",
// "//admin", "/./admin", "/%61dmin" and "/x/../admin", but "/%2Fadmin" reached the app. Now the
// listener normalises the path once, and authz and the app see that one path: every bypass is
// refused (403, or 400 for an encoded slash and malformed paths), through a sidecar pair over
// HTTP/1.1 (origin- and absolute-form) and h2c, and at the inbound itself for a peer that is not
// a sidecar. With MeshConfig pathNormalization.escapedSlashes KEEP, "%2F" reaches the app as sent.
import { readFileSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuthorizationPolicy } from "../../shared/schema/kinds.js";
import { startEchoApp, type EchoReply, type TestApp } from "../harness/apps.js";
import { createTestPki, type TestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startPkiSidecar, type SidecarProcess } from "../harness/processes.js";

interface Reply {
  status: number;
  code?: string;
  body: string;
}

let pki: TestPki;
let app: TestApp;
let keptApp: TestApp;
let b: SidecarProcess;
let a: SidecarProcess;
let kept: SidecarProcess;
let keepClient: SidecarProcess;

const denyAdmin = (service: string): AuthorizationPolicy => ({
  apiVersion: "tsmesh.dev/v1",
  kind: "AuthorizationPolicy",
  metadata: { name: `${service}-deny-admin` },
  spec: { service, action: "DENY", rules: [{ paths: ["/admin*"] }] },
});
const keepMesh = { trustDomain: "cluster.local", mtls: "STRICT" as const, logLevel: "warn" as const, pathNormalization: { escapedSlashes: "KEEP" as const } };

beforeAll(async () => {
  pki = createTestPki("path");
  [app, keptApp] = await Promise.all([startEchoApp({ name: "b" }), startEchoApp({ name: "k" })]);
  [b, kept] = await Promise.all([
    startPkiSidecar(pki, "b", app.port, snapshotOf({ authz: [denyAdmin("b")] })),
    startPkiSidecar(pki, "k", keptApp.port, snapshotOf({ authz: [denyAdmin("k")], meshConfig: keepMesh })),
  ]);
  [a, keepClient] = await Promise.all([
    startPkiSidecar(pki, "a", 1, snapshotOf({ endpoints: { b: endpointsAt("b", [b.inbound]) } })),
    startPkiSidecar(pki, "a", 1, snapshotOf({ endpoints: { k: endpointsAt("k", [kept.inbound]) }, meshConfig: keepMesh })),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a, b, kept, keepClient].map((s) => s?.stop("SIGKILL")));
  await Promise.all([app, keptApp].map((x) => x?.close()));
  pki?.cleanup();
});

/** Joins the chunks of a chunked body (no trailers here). */
function dechunk(raw: string): string {
  let body = "";
  for (let at = 0; ; ) {
    const eol = raw.indexOf("\r\n", at);
    const size = parseInt(raw.slice(at, eol), 16);
    if (!(size > 0)) return body;
    body += raw.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** Parses the one response of a Connection: close exchange. */
function parse(raw: string): Reply {
  const head = raw.slice(0, raw.indexOf("\r\n\r\n"));
  const code = /\r\nx-tsmesh-error: *([^\r]+)/i.exec(head)?.[1];
  const rest = raw.slice(head.length + 4);
  return { status: Number(raw.slice(9, 12)), code, body: /\r\ntransfer-encoding: *chunked/i.test(head) ? dechunk(rest) : rest };
}

/** One HTTP/1.1 request with `target` exactly as given (a URL parser would normalise it first). */
function rawGet(socket: net.Socket, target: string, host: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => socket.destroy(new Error(`no response to ${target}`)), 5000);
    socket.on("data", (d: Buffer) => (out += d.toString("latin1")));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      if (out.startsWith("HTTP/1.1 ")) resolve(parse(out));
      else reject(new Error(`connection closed without a response to ${target}`));
    });
    socket.write(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`, "latin1");
  });
}

const viaOutbound = (port: number, target: string, host: string) => rawGet(net.connect(port, "127.0.0.1"), target, host);

/** Straight to b's inbound over mTLS with a mesh certificate, as a peer that does not normalise. */
let peerCreds: { cert: Buffer; key: Buffer; ca: Buffer } | undefined;

function atInbound(target: string): Promise<Reply> {
  if (!peerCreds) {
    const files = pki.issue("peer");
    peerCreds = { cert: readFileSync(files.cert), key: readFileSync(files.key), ca: readFileSync(files.ca) };
  }
  const socket = tls.connect({
    host: "127.0.0.1",
    port: b.inbound,
    ...peerCreds,
    servername: "b",
    checkServerIdentity: () => undefined,
    ALPNProtocols: ["http/1.1"],
  });
  return rawGet(socket, target, "b");
}

async function viaH2(port: number, target: string, authority: string): Promise<Reply> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise<Reply>((resolve, reject) => {
      session.on("error", reject);
      const req = session.request({ ":path": target, ":authority": authority });
      let status = 0;
      let code: string | undefined;
      let body = "";
      req.on("response", (h) => {
        status = Number(h[":status"]);
        code = h["x-tsmesh-error"] as string | undefined;
      });
      req.setEncoding("utf8");
      req.on("data", (d: string) => (body += d));
      req.on("end", () => resolve({ status, code, body }));
      req.on("error", reject);
      req.end();
    });
  } finally {
    session.close();
  }
}

const sends: [string, (target: string) => Promise<Reply>][] = [
  ["HTTP/1.1 through the pair", (t) => viaOutbound(a.outbound, t, "b")],
  ["absolute-form through the pair", (t) => viaOutbound(a.outbound, `http://b${t}`, "b")],
  ["h2c through the pair", (t) => viaH2(a.outbound, t, "b")],
  ["mTLS straight at the inbound", atInbound],
];

/** Each bypass and the path authz must have judged it as. */
const DENIED: [string, string][] = [
  ["/admin", "/admin"],
  ["//admin", "/admin"],
  ["/./admin", "/admin"],
  ["/%61dmin", "/admin"],
  ["/x/../admin", "/admin"],
  ["/%2e%2e/admin/users", "/admin/users"],
  ["/x/%2E%2e/admin", "/admin"],
  ["/public/.%2e//admin?x=/public", "/admin"],
];

const REFUSED: [string, string][] = [
  ["/%2Fadmin", "TSMESH_ERR_ESCAPED_SLASH"],
  ["/%2fadmin", "TSMESH_ERR_ESCAPED_SLASH"],
  ["/x/..%2Fadmin", "TSMESH_ERR_ESCAPED_SLASH"],
  ["/%5Cadmin", "TSMESH_ERR_ESCAPED_SLASH"],
  ["/\\admin", "TSMESH_ERR_BAD_PATH"],
  ["/admin%00", "TSMESH_ERR_BAD_PATH"],
  ["/%zzadmin", "TSMESH_ERR_BAD_PATH"],
];

describe.each(sends)("DENY /admin* over %s", (_how, send) => {
  it("refuses every encoding of /admin with 403, judged as the normalised path, and the app sees none", async () => {
    const before = app.count();
    for (const [target, judged] of DENIED) {
      const r = await send(target);
      expect({ target, status: r.status, code: r.code }).toEqual({ target, status: 403, code: "TSMESH_ERR_FORBIDDEN" });
      expect(r.body, target).toContain(`GET ${judged} from`);
    }
    expect(app.count()).toBe(before);
  });

  it("refuses an encoded slash or backslash, a raw backslash, %00 and a bad escape with 400, and the app sees none", async () => {
    const before = app.count();
    for (const [target, code] of REFUSED) {
      const r = await send(target);
      expect({ target, status: r.status, code: r.code }).toEqual({ target, status: 400, code });
    }
    expect(app.count()).toBe(before);
  });

  it("forwards the normalised path, with the query as sent, to the app", async () => {
    const r = await send("/public/../x/./%7Euser//a%3fb?q=/../admin&e=%2F");
    expect(r.status).toBe(200);
    expect((JSON.parse(r.body) as EchoReply).url).toBe("/x/~user/a%3Fb?q=/../admin&e=%2F");
  });
});

describe("MeshConfig pathNormalization.escapedSlashes: KEEP", () => {
  it("forwards %2F still encoded, judged as that encoded path, so DENY /admin* does not match it", async () => {
    for (const target of ["/%2Fadmin", "/x/..%2Fadmin"]) {
      const r = await viaOutbound(keepClient.outbound, target, "k");
      expect({ target, status: r.status }).toEqual({ target, status: 200 });
      expect((JSON.parse(r.body) as EchoReply).url).toBe(target);
    }
  });

  it("still normalises everything else: the other bypasses are denied", async () => {
    const before = keptApp.count();
    for (const [target] of DENIED) expect((await viaOutbound(keepClient.outbound, target, "k")).status, target).toBe(403);
    expect((await viaOutbound(keepClient.outbound, "/admin%00", "k")).code).toBe("TSMESH_ERR_BAD_PATH");
    expect(keptApp.count()).toBe(before);
  });
});
