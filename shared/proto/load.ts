// Loads shared/proto/mesh.proto once per process for both the control plane and the sidecar.
// Field names become camelCase (csr_pem -> csrPem); int64 become JS numbers (unix ms fit).
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

// Beside this file when run from source (vitest); from dist/shared/proto/ the .proto stays in
// the source tree, three levels up.
const CANDIDATES = ["./mesh.proto", "../../../shared/proto/mesh.proto"].map((p) => fileURLToPath(new URL(p, import.meta.url)));

export const LOADER_OPTIONS: protoLoader.Options = { keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true };

export interface MeshProto {
  Certificates: grpc.ServiceClientConstructor;
  Discovery: grpc.ServiceClientConstructor;
}

let cached: MeshProto | undefined;

export function meshProtoPath(): string {
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`mesh.proto not found (looked in ${CANDIDATES.join(", ")})`);
  return found;
}

export function loadMeshProto(): MeshProto {
  if (!cached) {
    const def = protoLoader.loadSync(meshProtoPath(), LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(def) as unknown as { tsmesh: { v1: MeshProto } };
    cached = pkg.tsmesh.v1;
  }
  return cached;
}

/** Certificates.Sign messages as seen by JS code (see LOADER_OPTIONS). */
export interface SignRequestMsg {
  csrPem: string;
  bootstrapToken: string;
  ttlSeconds: number;
}

export interface SignResponseMsg {
  certChainPem: string[];
  trustBundlePem: string[];
  expiresAtUnixMs: number;
  spiffeId: string;
  serial: string;
}

/** Discovery.Stream messages as seen by JS code (see LOADER_OPTIONS; an absent node is null). */
export interface NodeMsg {
  service: string;
  instanceId: string;
  address: string;
  inboundPort: number;
  labels: Record<string, string>;
  namespace: string;
}

export interface DiscoveryRequestMsg {
  node?: NodeMsg | null;
  versionInfo: string;
  responseNonce: string;
  errorDetail: string;
  /** The sidecar is shutting down and deregisters (last request before it half-closes). */
  draining?: boolean;
}

export interface DiscoveryResponseMsg {
  versionInfo: string;
  nonce: string;
  snapshotJson: string;
  trustBundlePem: string[];
}
