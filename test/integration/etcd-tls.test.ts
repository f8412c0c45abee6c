// The embedded etcd refuses clients without the control plane's client certificate: a bootstrap
// token forged straight into etcd used to buy any identity. Real etcd, real TLS on 127.0.0.1.
import fs from "node:fs/promises";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { noop } from "cockatiel";
import { Etcd3 } from "etcd3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlPlane } from "../../control-plane/main.js";
import { createEtcdClient } from "../../control-plane/store/client.js";
import { ensureEtcdCerts, startEtcd, type EtcdCertSet, type EtcdProcess } from "../../control-plane/store/index.js";
import { createLogger } from "../../shared/log.js";

const FORGED_KEY = `/tsmesh/v1/tokens/${"ab".repeat(32)}`;
const FORGED = JSON.stringify({ service: "b", namespace: "default", expiresAt: new Date(Date.now() + 3600_000).toISOString() });

let dir: string;
let certs: EtcdCertSet;
let etcd: EtcdProcess;

/** An etcd3 client as an attacker would build one: no retries, short deadlines. */
const rawClient = (endpoint: string, credentials?: { rootCertificate: Buffer; certChain?: Buffer; privateKey?: Buffer }) =>
  new Etcd3({ hosts: endpoint, credentials, dialTimeout: 1500, defaultCallOptions: () => ({ deadline: Date.now() + 1500 }), faultHandling: { host: () => noop, global: noop } });

async function refusedWrite(client: Etcd3): Promise<void> {
  try {
    await expect(client.put(FORGED_KEY).value(FORGED).exec()).rejects.toThrow();
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-etcd-tls-"));
  certs = await ensureEtcdCerts(path.join(dir, "etcd-tls"));
  etcd = await startEtcd({ dataDir: path.join(dir, "etcd"), tls: certs });
});

afterAll(async () => {
  await etcd?.destroy();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe("embedded etcd TLS", () => {
  it("forged token write: a client without the control plane's client certificate is refused by etcd itself", async () => {
    expect(etcd.endpoint).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const ca = Buffer.from(certs.client.caPem!);
    // Trusts etcd's CA but has no client certificate.
    await refusedWrite(rawClient(etcd.endpoint, { rootCertificate: ca }));
    // Plaintext gRPC to the TLS port.
    await refusedWrite(rawClient(etcd.endpoint.replace("https:", "http:")));
    // A client certificate from another CA (another data dir's set).
    const other = await ensureEtcdCerts(path.join(dir, "other-tls"));
    await refusedWrite(rawClient(etcd.endpoint, { rootCertificate: ca, certChain: Buffer.from(other.client.certPem!), privateKey: Buffer.from(other.client.keyPem!) }));
    // The HTTP side of the client port too: the TLS handshake fails without a certificate.
    await expect(
      new Promise((resolve, reject) => https.get(`${etcd.endpoint}/v3/kv/put`, { ca: certs.client.caPem, servername: "localhost" }, resolve).on("error", reject)),
    ).rejects.toThrow();

    // With the client certificate the same write works, and none of the refused ones landed.
    const owner = createEtcdClient({ endpoints: [etcd.endpoint], tls: etcd.clientTls });
    try {
      expect(await owner.get(FORGED_KEY).string()).toBeNull();
      await owner.put("/tsmesh/v1/probe").value("1").exec();
      expect(await owner.get("/tsmesh/v1/probe").string()).toBe("1");
    } finally {
      owner.close();
    }
  });

  it("keeps its certificates and keys in the data dir, mode 0600 in a 0700 directory, reused on restart", async () => {
    const tlsDir = path.dirname(certs.caFile);
    expect((await fs.stat(tlsDir)).mode & 0o777).toBe(0o700);
    const files = await fs.readdir(tlsDir);
    expect(files.sort()).toEqual(["ca.crt", "client.crt", "client.key", "server.crt", "server.key"]);
    for (const f of files) expect((await fs.stat(path.join(tlsDir, f))).mode & 0o777, f).toBe(0o600);
    // The CA key is not kept: nobody can sign another client certificate from these files.
    expect((await Promise.all(files.map((f) => fs.readFile(path.join(tlsDir, f), "utf8")))).filter((t) => t.includes("PRIVATE KEY"))).toHaveLength(2);
    const again = await ensureEtcdCerts(tlsDir);
    expect(again.client).toEqual(certs.client);
    await etcd.stop();
    await etcd.start();
    const owner = createEtcdClient({ endpoints: [etcd.endpoint], tls: etcd.clientTls });
    try {
      expect(await owner.get("/tsmesh/v1/probe").string()).toBe("1");
    } finally {
      owner.close();
    }
  });

  it("replaces a set whose files are missing or do not chain to its CA", async () => {
    const tlsDir = path.join(dir, "broken-tls");
    const first = await ensureEtcdCerts(tlsDir);
    // A "CA" whose key signed neither certificate.
    await fs.writeFile(first.caFile, await fs.readFile(first.certFile));
    const fixed = await ensureEtcdCerts(tlsDir);
    expect(fixed.client.certPem).not.toBe(first.client.certPem);
    await fs.rm(fixed.keyFile);
    expect((await ensureEtcdCerts(tlsDir)).client.caPem).not.toBe(fixed.client.caPem);
  });
});

describe("startControlPlane without --etcd", () => {
  it("talks TLS to its embedded etcd and never logs a key", async () => {
    const cpDir = await fs.mkdtemp(path.join(os.tmpdir(), "tsmesh-etcd-tls-cp-"));
    const lines: string[] = [];
    const log = createLogger("control-plane", { level: "debug", write: (line: string) => lines.push(line) });
    const cp = await startControlPlane({ apiPort: 0, grpcPort: 0, dataDir: cpDir, token: "etcd-tls-admin", plugins: [], log });
    try {
      expect(cp.etcdEndpoints).toEqual([expect.stringMatching(/^https:\/\/127\.0\.0\.1:\d+$/)]);
      const res = await fetch(`http://127.0.0.1:${cp.apiPort}/api/v1/tokens`, {
        method: "POST",
        headers: { authorization: "Bearer etcd-tls-admin", "content-type": "application/json" },
        body: JSON.stringify({ service: "b", ttl: "5m" }),
      });
      expect(res.status).toBe(201);
      await refusedWrite(rawClient(cp.etcdEndpoints[0]!, { rootCertificate: await fs.readFile(path.join(cpDir, "etcd-tls", "ca.crt")) }));
      expect(lines.join("\n")).not.toContain("PRIVATE KEY");
    } finally {
      await cp.close();
      await fs.rm(cpDir, { recursive: true, force: true });
    }
  });
});
