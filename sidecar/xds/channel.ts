// One Discovery.Stream call to one control-plane address over mTLS with the sidecar's current
// workload certificate. The server is checked by its SPIFFE ID (as for Certificates.Sign), so any
// address that reaches a replica works.
import * as grpc from "@grpc/grpc-js";
import { spiffeIdOf } from "../../shared/pki/index.js";
import { loadMeshProto, type DiscoveryRequestMsg, type DiscoveryResponseMsg } from "../../shared/proto/load.js";
import { CONTROL_PLANE_ID, controlPlaneChannelOptions } from "../identity/client.js";

export interface ClientTls {
  keyPem: string;
  /** Leaf + issuer. */
  chainPem: string;
  /** Anchors the control plane's certificate must chain to. */
  trustBundlePem: string[];
}

export type DiscoveryCall = grpc.ClientDuplexStream<DiscoveryRequestMsg, DiscoveryResponseMsg>;

type DiscoveryClient = grpc.Client & { Stream(opts?: grpc.CallOptions): DiscoveryCall };

export interface OpenedStream {
  call: DiscoveryCall;
  close(): void;
}

export function openStream(address: string, tls: ClientTls, trustDomain: string, channelOptions: grpc.ChannelOptions = {}): OpenedStream {
  const expected = CONTROL_PLANE_ID(trustDomain);
  const creds = grpc.credentials.createSsl(Buffer.from(tls.trustBundlePem.join("")), Buffer.from(tls.keyPem), Buffer.from(tls.chainPem), {
    checkServerIdentity: (_host, cert) =>
      spiffeIdOf(cert) === expected ? undefined : new Error(`TSMESH_ERR_CONTROL_PLANE_IDENTITY: server is ${spiffeIdOf(cert) ?? "no SPIFFE ID"}, expected ${expected}`),
  });
  const { Discovery } = loadMeshProto();
  const client = new Discovery(address, creds, {
    // Notice a control plane that vanished without closing the connection (network loss).
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    // The channel is used for one stream; we do the reconnecting (to the next address).
    "grpc.initial_reconnect_backoff_ms": 100,
    ...controlPlaneChannelOptions(address),
    ...channelOptions,
  }) as unknown as DiscoveryClient;
  const call = client.Stream();
  return {
    call,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}
