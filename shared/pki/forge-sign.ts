// forge builds the ASN.1; node:crypto does the RSA signature over the DER bytes. forge's own
// key.sign() is pure-JS bignum RSA (tens of ms per signature) and was the CSR-signing bottleneck.
import crypto from "node:crypto";
import forge from "node-forge";

const SHA256_RSA = forge.pki.oids.sha256WithRSAEncryption!;
// Present in node-forge's pki but missing from @types/node-forge.
const pki = forge.pki as typeof forge.pki & {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
  getCertificationRequestInfo(csr: forge.pki.CertificateSigningRequest): forge.asn1.Asn1;
};

function derBuffer(asn: forge.asn1.Asn1): Buffer {
  return Buffer.from(forge.asn1.toDer(asn).getBytes(), "binary");
}

/** Signs a forge certificate with a private key (PEM or KeyObject) using SHA-256/RSA. */
export function signCertificate(cert: forge.pki.Certificate, key: crypto.KeyObject | string): void {
  const c = cert as forge.pki.Certificate & { tbsCertificate: forge.asn1.Asn1; signatureOid: string; siginfo: { algorithmOid: string } };
  c.signatureOid = SHA256_RSA;
  c.siginfo.algorithmOid = SHA256_RSA;
  c.md = forge.md.sha256.create();
  c.tbsCertificate = pki.getTBSCertificate(cert);
  c.signature = crypto.sign("sha256", derBuffer(c.tbsCertificate), key).toString("binary");
}

/** Signs a forge CSR (same split as signCertificate). */
export function signCertificationRequest(csr: forge.pki.CertificateSigningRequest, key: crypto.KeyObject | string): void {
  const r = csr as forge.pki.CertificateSigningRequest & {
    certificationRequestInfo: forge.asn1.Asn1;
    signatureOid: string;
    siginfo: { algorithmOid: string };
    signature: string;
  };
  r.signatureOid = SHA256_RSA;
  r.siginfo.algorithmOid = SHA256_RSA;
  r.md = forge.md.sha256.create();
  r.certificationRequestInfo = pki.getCertificationRequestInfo(csr);
  r.signature = crypto.sign("sha256", derBuffer(r.certificationRequestInfo), key).toString("binary");
}

/** Verifies a parsed CSR's self-signature natively. Only SHA-256/RSA is accepted. */
export function verifyCertificationRequest(csr: forge.pki.CertificateSigningRequest): boolean {
  const r = csr as forge.pki.CertificateSigningRequest & {
    certificationRequestInfo: forge.asn1.Asn1 | null;
    signatureOid: string;
    signature: string;
  };
  if (r.signatureOid !== SHA256_RSA || !r.certificationRequestInfo || !csr.publicKey) return false;
  const pub = crypto.createPublicKey(forge.pki.publicKeyToPem(csr.publicKey as forge.pki.rsa.PublicKey));
  return crypto.verify("sha256", derBuffer(r.certificationRequestInfo), pub, Buffer.from(r.signature, "binary"));
}
