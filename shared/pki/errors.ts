// Stable error codes for PKI failures (TSMESH_ERR_*), so callers map them without parsing text.
export type PkiErrorCode =
  | "TSMESH_ERR_CSR_INVALID"
  | "TSMESH_ERR_CSR_IDENTITY_MISMATCH"
  | "TSMESH_ERR_CERT_INVALID"
  | "TSMESH_ERR_CERT_UNTRUSTED"
  | "TSMESH_ERR_CERT_EXPIRED";

export class PkiError extends Error {
  constructor(
    readonly code: PkiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "PkiError";
  }
}
