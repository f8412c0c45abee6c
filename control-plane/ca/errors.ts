// CA refusals: a gRPC status for the wire plus a stable TSMESH_ERR_* code for logs and clients.
import { status } from "@grpc/grpc-js";
import { GrpcRefusal } from "../grpc-error.js";

export type CaErrorCode =
  | "TSMESH_ERR_CSR_INVALID"
  | "TSMESH_ERR_IDENTITY_MISMATCH"
  | "TSMESH_ERR_TOKEN_INVALID"
  | "TSMESH_ERR_NO_IDENTITY"
  | "TSMESH_ERR_CERT_REJECTED"
  | "TSMESH_ERR_STORE_UNAVAILABLE"
  | "TSMESH_ERR_TOKEN_REVIEW_UNAVAILABLE";

const STATUS: Record<CaErrorCode, status> = {
  TSMESH_ERR_CSR_INVALID: status.INVALID_ARGUMENT,
  TSMESH_ERR_IDENTITY_MISMATCH: status.PERMISSION_DENIED,
  TSMESH_ERR_TOKEN_INVALID: status.UNAUTHENTICATED,
  TSMESH_ERR_NO_IDENTITY: status.UNAUTHENTICATED,
  TSMESH_ERR_CERT_REJECTED: status.UNAUTHENTICATED,
  TSMESH_ERR_STORE_UNAVAILABLE: status.UNAVAILABLE,
  // The Kubernetes API server could not vouch for a ServiceAccount token (down, RBAC): retry.
  TSMESH_ERR_TOKEN_REVIEW_UNAVAILABLE: status.UNAVAILABLE,
};

export class CaError extends GrpcRefusal<CaErrorCode> {
  constructor(code: CaErrorCode, message: string) {
    super(code, message, STATUS[code]);
    this.name = "CaError";
  }
}
