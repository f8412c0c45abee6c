// grpc.health.v1.Health (health.proto), loaded on first use: only a sidecar that performs an
// app's grpc probe needs grpc-js and the proto loader.
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import type * as grpc from "@grpc/grpc-js";

// Beside this file from source; from dist/shared/proto/ the .proto stays in the source tree.
const CANDIDATES = ["./health.proto", "../../../shared/proto/health.proto"].map((p) => fileURLToPath(new URL(p, import.meta.url)));

export interface HealthProto {
  grpc: typeof grpc;
  Health: grpc.ServiceClientConstructor;
}

let cached: Promise<HealthProto> | undefined;

export function loadHealthProto(): Promise<HealthProto> {
  cached ??= (async () => {
    const file = CANDIDATES.find((p) => fs.existsSync(p));
    if (!file) throw new Error(`health.proto not found (looked in ${CANDIDATES.join(", ")})`);
    const [grpcJs, protoLoader, { LOADER_OPTIONS }] = await Promise.all([import("@grpc/grpc-js"), import("@grpc/proto-loader"), import("./load.js")]);
    const def = protoLoader.loadSync(file, LOADER_OPTIONS);
    const pkg = grpcJs.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    return { grpc: grpcJs, Health: pkg.grpc.health.v1.Health };
  })();
  return cached;
}
