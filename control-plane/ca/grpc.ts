// gRPC transport for Certificates.Sign: registration on a grpc.Server, and the control plane's
// TLS server credentials (serving cert from the issuer; client certs requested, not required).
import { X509Certificate } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { loadMeshProto, type SignRequestMsg, type SignResponseMsg } from "../../shared/proto/load.js";
import { CaError } from "./errors.js";
import { handleSign, type SignerDeps } from "./signer.js";

function toServiceError(err: unknown, deps: SignerDeps): Partial<grpc.ServiceError> {
  if (err instanceof CaError) {
    deps.log?.warn("certificate request refused", { code: err.code, reason: err.message });
    return err.toServiceError();
  }
  deps.log?.error("certificate signing failed", { err: err as Error });
  return { code: grpc.status.INTERNAL, details: "TSMESH_ERR_INTERNAL: signing failed" };
}

/** Adds the Certificates service to `server`. */
export function registerCertificates(server: grpc.Server, deps: SignerDeps): void {
  const { Certificates } = loadMeshProto();
  server.addService(Certificates.service, {
    Sign: (call: grpc.ServerUnaryCall<SignRequestMsg, SignResponseMsg>, callback: grpc.sendUnaryData<SignResponseMsg>) => {
      // grpc-js only exposes a peer certificate that passed TLS verification against the bundle;
      // handleSign verifies it again (chain, expiry, trust domain) before trusting its identity.
      const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
      let peer: X509Certificate | undefined;
      try {
        peer = raw ? new X509Certificate(raw) : undefined;
      } catch {
        peer = undefined;
      }
      handleSign(deps, call.request, peer).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err, deps)),
      );
    },
  });
}
