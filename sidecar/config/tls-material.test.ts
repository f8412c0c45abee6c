import { describe, expect, it } from "vitest";
import { serviceIdentity } from "../../shared/identity.js";
import { createIssuer, createTrustAnchor, issueWorkloadCert } from "../../shared/pki/index.js";
import { buildTlsState, certMetadata, TlsMaterialError } from "./tls-material.js";

const HOUR = 3600_000;
const anchor = createTrustAnchor({ commonName: "unit anchor", validityMs: HOUR });
const issuer = createIssuer(anchor, { commonName: "unit issuer", validityMs: HOUR });
const wc = issueWorkloadCert(issuer, serviceIdentity("web"), HOUR);
const other = issueWorkloadCert(issuer, serviceIdentity("other"), HOUR);

describe("buildTlsState", () => {
  it("reads the identity from the certificate and builds a context", () => {
    const st = buildTlsState({ spiffeId: "ignored", keyPem: wc.keyPem, chainPem: wc.chainPem, trustBundlePem: [anchor.certPem] });
    expect(st.spiffeId).toBe(serviceIdentity("web"));
    expect(st.notAfter.getTime()).toBeGreaterThan(Date.now());
  });

  it("refuses a key that does not match, and material without anchors", () => {
    expect(() => buildTlsState({ spiffeId: "x", keyPem: other.keyPem, chainPem: wc.chainPem, trustBundlePem: [anchor.certPem] })).toThrow(TlsMaterialError);
    expect(() => buildTlsState({ spiffeId: "x", keyPem: wc.keyPem, chainPem: wc.chainPem, trustBundlePem: [] })).toThrow(/trust anchors/);
  });

  it("metadata for /config_dump never contains the private key", () => {
    const st = buildTlsState({ spiffeId: "x", keyPem: wc.keyPem, chainPem: wc.chainPem, trustBundlePem: [anchor.certPem] });
    const text = JSON.stringify(certMetadata(st));
    expect(text).toContain(serviceIdentity("web"));
    expect(text).not.toContain("PRIVATE KEY");
    expect(text).not.toContain(wc.keyPem.split("\n")[1]);
  });
});
