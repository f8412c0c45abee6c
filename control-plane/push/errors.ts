// Refusals on the config stream: a gRPC status for the wire plus a stable TSMESH_ERR_* code.
import { status } from "@grpc/grpc-js";
import { GrpcRefusal } from "../grpc-error.js";

export type PushErrorCode = "TSMESH_ERR_BAD_NODE" | "TSMESH_ERR_NO_IDENTITY" | "TSMESH_ERR_IDENTITY_MISMATCH" | "TSMESH_ERR_PROTOCOL";

const STATUS: Record<PushErrorCode, status> = {
  TSMESH_ERR_BAD_NODE: status.INVALID_ARGUMENT,
  TSMESH_ERR_NO_IDENTITY: status.UNAUTHENTICATED,
  TSMESH_ERR_IDENTITY_MISMATCH: status.PERMISSION_DENIED,
  TSMESH_ERR_PROTOCOL: status.INVALID_ARGUMENT,
};

export class PushError extends GrpcRefusal<PushErrorCode> {
  constructor(code: PushErrorCode, message: string) {
    super(code, message, STATUS[code]);
    this.name = "PushError";
  }
}
