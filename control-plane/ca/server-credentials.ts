// TLS credentials for the control plane's gRPC port: a serving certificate signed by the issuer
// (SAN localhost/127.0.0.1 + the control plane's SPIFFE ID), re-issued at 2/3 of its lifetime,
// and the trust bundle as client CA. Client certificates are requested but optional: a sidecar
// bootstrapping with a token has none yet.
import * as grpc from "@grpc/grpc-js";
import { createCsr, generateKeyPair, signCsr, type SignedCert } from "../../shared/pki/index.js";
import { spiffeId } from "../../shared/identity.js";
import type { CaMaterial } from "./files.js";

type CertificateProvider = grpc.experimental.CertificateProvider;
type CaCertificateUpdateListener = grpc.experimental.CaCertificateUpdateListener;
type IdentityCertificateUpdateListener = grpc.experimental.IdentityCertificateUpdateListener;

export const CONTROL_PLANE_NAMESPACE = "tsmesh-system";
export const CONTROL_PLANE_SERVICE = "control-plane";

export interface CaServerCredentialsOptions {
  material: () => CaMaterial;
  trustDomain: string;
  /** Extra DNS SANs (e.g. the Kubernetes service name); localhost is always included. */
  dnsNames?: string[];
  /** Extra IP SANs; 127.0.0.1 and ::1 are always included. */
  ipAddresses?: string[];
  /** Serving certificate lifetime; default 24 h. */
  validityMs?: number;
}

export interface CaServerCredentials {
  credentials: grpc.ServerCredentials;
  /** The serving certificate currently in use (leaf, serial, expiry). */
  current(): SignedCert;
  /** Re-issues the serving certificate and re-reads the bundle (call after an anchor rotation). */
  refresh(): void;
  close(): void;
}

class StaticProvider implements CertificateProvider {
  private ca = new Set<CaCertificateUpdateListener>();
  private id = new Set<IdentityCertificateUpdateListener>();
  private caValue: Buffer | undefined;
  private idValue: { certificate: Buffer; privateKey: Buffer } | undefined;
  set(caPem: string, chainPem: string, keyPem: string): void {
    this.caValue = Buffer.from(caPem);
    this.idValue = { certificate: Buffer.from(chainPem), privateKey: Buffer.from(keyPem) };
    for (const l of this.ca) l({ caCertificate: this.caValue });
    for (const l of this.id) l(this.idValue);
  }
  addCaCertificateListener(l: CaCertificateUpdateListener): void {
    this.ca.add(l);
    // Deliver after grpc-js has registered its watcher (it subscribes first, then watches).
    queueMicrotask(() => {
      if (this.caValue && this.ca.has(l)) l({ caCertificate: this.caValue });
    });
  }
  removeCaCertificateListener(l: CaCertificateUpdateListener): void {
    this.ca.delete(l);
  }
  addIdentityCertificateListener(l: IdentityCertificateUpdateListener): void {
    this.id.add(l);
    queueMicrotask(() => {
      if (this.idValue && this.id.has(l)) l(this.idValue);
    });
  }
  removeIdentityCertificateListener(l: IdentityCertificateUpdateListener): void {
    this.id.delete(l);
  }
}

export function createCaServerCredentials(opts: CaServerCredentialsOptions): CaServerCredentials {
  const provider = new StaticProvider();
  const validityMs = opts.validityMs ?? 24 * 3600_000;
  const id = spiffeId({ trustDomain: opts.trustDomain, namespace: CONTROL_PLANE_NAMESPACE, service: CONTROL_PLANE_SERVICE });
  let current: SignedCert;
  let timer: NodeJS.Timeout | undefined;
  const issue = () => {
    const m = opts.material();
    const { privateKeyPem } = generateKeyPair();
    current = signCsr(m.issuer, createCsr(privateKeyPem, id), {
      spiffeId: id,
      validityMs,
      dnsNames: ["localhost", ...(opts.dnsNames ?? [])],
      ipAddresses: ["127.0.0.1", "::1", ...(opts.ipAddresses ?? [])],
    });
    provider.set(m.bundle.join(""), current.certPem + m.issuer.certPem, privateKeyPem);
    if (timer) clearTimeout(timer);
    const lifetime = current.notAfter.getTime() - Date.now();
    timer = setTimeout(issue, Math.max(1000, (lifetime * 2) / 3));
    timer.unref();
  };
  issue();
  return {
    // requireClientCertificate=false: request a client cert, do not reject without one.
    credentials: grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false),
    current: () => current,
    refresh: issue,
    close: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
  };
}
