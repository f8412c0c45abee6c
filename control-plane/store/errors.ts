// Typed store errors. Callers (API, push, CA) branch on these classes, never on etcd3's own errors.
import {
  ClientClosedError,
  GRPCCancelledError,
  GRPCDeadlineExceededError,
  GRPCGenericError,
  GRPCUnavailableError,
} from "etcd3";
import { isBrokenCircuitError } from "cockatiel";

/** etcd could not be reached within the store's call timeout. Safe to retry later. */
export class StoreUnavailableError extends Error {
  readonly code = "TSMESH_ERR_STORE_UNAVAILABLE";
  constructor(cause: unknown) {
    super(`etcd unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "StoreUnavailableError";
  }
}

/** A compare-and-swap lost: the stored resourceVersion differs from the one the caller sent. */
export class ConflictError extends Error {
  readonly code = "TSMESH_ERR_CONFLICT";
  constructor(
    readonly key: string,
    readonly expected: string,
    readonly actual: string | undefined,
  ) {
    super(
      actual === undefined
        ? `${key} does not exist (resourceVersion ${expected} given)`
        : `${key} has resourceVersion ${actual}, not ${expected}: re-read and retry`,
    );
    this.name = "ConflictError";
  }
}

/** True for errors that mean "etcd did not answer" rather than "etcd said no". */
export function isUnavailable(err: unknown): boolean {
  if (err instanceof StoreUnavailableError) return true;
  // Every member is being skipped after a failure (store/client.ts).
  if (isBrokenCircuitError(err)) return true;
  if (
    err instanceof GRPCUnavailableError ||
    err instanceof GRPCDeadlineExceededError ||
    err instanceof GRPCCancelledError ||
    err instanceof ClientClosedError
  ) {
    return true;
  }
  // grpc-js status codes surfaced as generic errors: 14 UNAVAILABLE, 4 DEADLINE_EXCEEDED, 1 CANCELLED.
  if (err instanceof GRPCGenericError || err instanceof Error) {
    return /\b(UNAVAILABLE|DEADLINE_EXCEEDED|Deadline exceeded|No connection established|ECONNREFUSED)\b/i.test(err.message);
  }
  return false;
}

/** Runs one etcd operation, turning "etcd not reachable" into StoreUnavailableError. */
export async function guard<T>(op: () => Promise<T>, onUnavailable?: () => void): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (isUnavailable(err)) {
      onUnavailable?.();
      throw err instanceof StoreUnavailableError ? err : new StoreUnavailableError(err);
    }
    throw err;
  }
}
