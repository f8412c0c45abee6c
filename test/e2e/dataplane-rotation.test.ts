// Certificate rotation and trust-anchor rotation on running sidecars (in-process, through the
// setters sidecar/identity and the config push use): requests keep flowing with no failure, and
// new handshakes present the new certificate.
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { request } from "undici";
import { serviceIdentity } from "../../shared/identity.js";
import { createLogger } from "../../shared/log.js";
import { createIssuer, createTrustAnchor, issueWorkloadCert, type CertKeyPem } from "../../shared/pki/index.js";
import type { TlsMaterial } from "../../sidecar/config/tls-material.js";
import { startSidecar, type Sidecar } from "../../sidecar/main.js";
import { startEchoApp, type TestApp } from "../harness/apps.js";
import { endpointsAt, snapshotOf } from "../harness/processes.js";

const HOUR = 3600_000;
const log = createLogger("test", { level: "error" });
let anchor1: CertKeyPem;
let issuer1: CertKeyPem;
let app: TestApp;
let a: Sidecar;
let b: Sidecar;

function material(issuer: CertKeyPem, anchors: CertKeyPem[], service: string): TlsMaterial {
  const wc = issueWorkloadCert(issuer, serviceIdentity(service), HOUR);
  return { spiffeId: serviceIdentity(service), keyPem: wc.keyPem, chainPem: wc.chainPem, trustBundlePem: anchors.map((x) => x.certPem) };
}

/** Serial number of the certificate b's inbound presents on a fresh handshake. */
function presentedSerial(port: number, client: TlsMaterial): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: "127.0.0.1", port, cert: client.chainPem, key: client.keyPem, ca: client.trustBundlePem, servername: "b", checkServerIdentity: () => undefined });
    s.once("secureConnect", () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.destroy();
    });
    s.once("error", reject);
  });
}

beforeAll(async () => {
  anchor1 = createTrustAnchor({ commonName: "rotation anchor 1", validityMs: HOUR });
  issuer1 = createIssuer(anchor1, { commonName: "rotation issuer 1", validityMs: HOUR });
  app = await startEchoApp({ name: "b" });
  const common = { bind: "127.0.0.1", inboundPort: 0, outboundPort: 0, adminPort: 0, log, drainTimeoutMs: 1000 };
  b = await startSidecar({ ...common, service: "b", appPort: app.port, tls: material(issuer1, [anchor1], "b"), snapshot: snapshotOf({}) });
  a = await startSidecar({
    ...common,
    service: "a",
    appPort: 1,
    tls: material(issuer1, [anchor1], "a"),
    snapshot: snapshotOf({ endpoints: { b: endpointsAt("b", [b.ports.inbound]) } }),
  });
});

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await app?.close();
});

async function hammer(during: () => Promise<void>, total = 300): Promise<number[]> {
  const statuses: number[] = [];
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const res = await request(`http://127.0.0.1:${a.ports.outbound}/`, { headers: { host: "b" } });
      await res.body.dump();
      statuses.push(res.statusCode);
    }
  };
  await Promise.all([...Array.from({ length: 4 }, worker), during()]);
  return statuses;
}

describe("rotation", () => {
  it("workload certificates rotate under load with no failed request; new handshakes use the new cert", async () => {
    const before = await presentedSerial(b.ports.inbound, material(issuer1, [anchor1], "probe"));
    let next: TlsMaterial | undefined;
    const statuses = await hammer(async () => {
      await new Promise((r) => setTimeout(r, 50));
      next = material(issuer1, [anchor1], "b");
      b.identity.set(next);
      a.identity.set(material(issuer1, [anchor1], "a"));
    });
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const after = await presentedSerial(b.ports.inbound, material(issuer1, [anchor1], "probe"));
    expect(after).not.toBe(before);
  });

  it("trust anchor rotation: bundle with both anchors pushed first, then certificates from the new anchor", async () => {
    const anchor2 = createTrustAnchor({ commonName: "rotation anchor 2", validityMs: HOUR });
    const issuer2 = createIssuer(anchor2, { commonName: "rotation issuer 2", validityMs: HOUR });
    const bundle = [anchor1.certPem, anchor2.certPem];
    const statuses = await hammer(async () => {
      // Both sides trust both anchors (config push), then b moves to the new issuer.
      a.config.set({ ...a.config.get()!, version: "2", trustBundle: bundle });
      b.config.set({ ...b.config.get()!, version: "2", trustBundle: bundle });
      await new Promise((r) => setTimeout(r, 50));
      b.identity.set(material(issuer2, [anchor2], "b"));
    });
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    // A client trusting only anchor 2, with a certificate from issuer 2: b now presents a chain to
    // anchor 2 and accepts the new issuer (the pushed bundle).
    await expect(presentedSerial(b.ports.inbound, material(issuer2, [anchor2], "probe"))).resolves.toMatch(/^[0-9A-F]+$/);
  });
});
