// A self-signed serving certificate for the webhook, for development and tests. In a cluster
// the certificate comes from a Secret (cert-manager or deploy/k8s/README) and its CA goes in
// the MutatingWebhookConfiguration's caBundle.
import net from "node:net";
import forge from "node-forge";
import { generateKeyPair } from "../../shared/pki/keys.js";
import { signCertificate } from "../../shared/pki/forge-sign.js";

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

/** hosts: DNS names and IP addresses the certificate is valid for; the first is the CN. */
export function selfSignedServingCert(hosts: string[], days = 365): ServingCert {
  if (hosts.length === 0) throw new Error("at least one host name is required");
  const { privateKeyPem, publicKeyPem } = generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKeyPem);
  cert.serialNumber = "01" + forge.util.bytesToHex(forge.random.getBytesSync(15));
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + days * 86_400_000);
  const subject = [{ name: "commonName", value: hosts[0]! }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: "basicConstraints", cA: true, critical: true },
    { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
    { name: "extKeyUsage", serverAuth: true },
    {
      name: "subjectAltName",
      altNames: hosts.map((h) => (net.isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })),
    },
  ]);
  signCertificate(cert, privateKeyPem);
  return { certPem: forge.pki.certificateToPem(cert), keyPem: privateKeyPem };
}
