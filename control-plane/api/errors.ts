// API errors: every failure leaves the server as {error, code[, field]} with a stable code.
export type ApiErrorCode =
  | "TSMESH_ERR_UNAUTHORIZED"
  | "TSMESH_ERR_FORBIDDEN"
  | "TSMESH_ERR_INVALID_RESOURCE"
  | "TSMESH_ERR_MALFORMED_JSON"
  | "TSMESH_ERR_BODY_TOO_LARGE"
  | "TSMESH_ERR_UNSUPPORTED_MEDIA_TYPE"
  | "TSMESH_ERR_NOT_FOUND"
  | "TSMESH_ERR_METHOD_NOT_ALLOWED"
  | "TSMESH_ERR_CONFLICT"
  | "TSMESH_ERR_STORE_UNAVAILABLE"
  | "TSMESH_ERR_INTERNAL";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly field?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toJSON(): Record<string, string> {
    return this.field === undefined
      ? { error: this.message, code: this.code }
      : { error: this.message, code: this.code, field: this.field };
  }
}

export const badRequest = (message: string, field: string, code: ApiErrorCode = "TSMESH_ERR_INVALID_RESOURCE") =>
  new ApiError(400, code, message, field);
export const notFound = (what: string) => new ApiError(404, "TSMESH_ERR_NOT_FOUND", `${what} not found`);
