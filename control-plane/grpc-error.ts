// A refusal that leaves over gRPC: a stable TSMESH_ERR_* code for logs and clients, plus the gRPC
// status it maps to. The CA (CaError) and config push (PushError) each fix their own code -> status table.
import type { ServiceError, status } from "@grpc/grpc-js";

export class GrpcRefusal<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    readonly grpcCode: status,
  ) {
    super(`${code}: ${message}`);
  }

  /** What grpc-js takes as a unary callback error or a stream's "error" event. */
  toServiceError(): Partial<ServiceError> {
    return { code: this.grpcCode, details: this.message };
  }
}
