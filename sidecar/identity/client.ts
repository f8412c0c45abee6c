// One Certificates.Sign call to the control plane over TLS. The server is checked by its SPIFFE ID
// (the control plane's), not by host name, so any address that reaches it works.
import { isIP } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { spiffeId } from "../../shared/identity.js";
import { spiffeIdOf } from "../../shared/pki/index.js";
import { loadMeshProto, type SignRequestMsg, type SignResponseMsg } from "../../shared/proto/load.js";

export interface SignCallOptions {
  /** host:port of the control plane's gRPC port. */
  address: string;
  /** Anchors to verify the control plane's certificate with (PEM). */
  trustBundlePem: string[];
  trustDomain: string;
  csrPem: string;
  bootstrapToken?: string;
  /** Current workload certificate, presented over mTLS to renew. */
  clientCert?: { keyPem: string; chainPem: string };
  ttlSeconds?: number;
  timeoutMs?: number;
}

export const CONTROL_PLANE_ID = (trustDomain: string): string => spiffeId({ trustDomain, namespace: "tsmesh-system", service: "control-plane" });

type SignClient = grpc.Client & {
  Sign(req: SignRequestMsg, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: SignResponseMsg) => void): void;
};

/**
 * Channel credentials for any call to the control plane (Sign, Discovery.Stream): TLS verified
 * against the bundle, server identified by the control plane's SPIFFE ID, optionally presenting
 * the workload certificate.
 */
export function controlPlaneCredentials(opts: {
  trustBundlePem: string[];
  trustDomain: string;
  clientCert?: { keyPem: string; chainPem: string };
}): grpc.ChannelCredentials {
  const expected = CONTROL_PLANE_ID(opts.trustDomain);
  return grpc.credentials.createSsl(
    Buffer.from(opts.trustBundlePem.join("")),
    opts.clientCert ? Buffer.from(opts.clientCert.keyPem) : null,
    opts.clientCert ? Buffer.from(opts.clientCert.chainPem) : null,
    {
      checkServerIdentity: (_host, cert) =>
        spiffeIdOf(cert) === expected ? undefined : new Error(`TSMESH_ERR_CONTROL_PLANE_IDENTITY: server is ${spiffeIdOf(cert) ?? "no SPIFFE ID"}, expected ${expected}`),
    },
  );
}

/**
 * Channel options for a control-plane address. grpc-js sends the target's host as TLS SNI, and an
 * IP there is against RFC 6066 (Node prints DEP0123). The server is verified by SPIFFE ID, not by
 * this name, so for an IP target we send "localhost" (always a SAN of the serving certificate).
 * DNS names go unchanged.
 */
export function controlPlaneChannelOptions(address: string): grpc.ChannelOptions {
  const host = address.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  return isIP(host) ? { "grpc.ssl_target_name_override": "localhost" } : {};
}

export async function callSign(opts: SignCallOptions): Promise<SignResponseMsg> {
  const creds = controlPlaneCredentials(opts);
  const { Certificates } = loadMeshProto();
  // A fresh channel per call: the client certificate changes with every renewal, and calls are rare.
  const client = new Certificates(opts.address, creds, controlPlaneChannelOptions(opts.address)) as unknown as SignClient;
  try {
    return await new Promise<SignResponseMsg>((resolve, reject) => {
      client.Sign(
        { csrPem: opts.csrPem, bootstrapToken: opts.bootstrapToken ?? "", ttlSeconds: opts.ttlSeconds ?? 0 },
        { deadline: Date.now() + (opts.timeoutMs ?? 10_000) },
        (err, res) => (err || !res ? reject(err ?? new Error("empty SignResponse")) : resolve(res)),
      );
    });
  } finally {
    client.close();
  }
}
