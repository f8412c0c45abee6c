// Numeric flag values of the CLI commands, refused with one readable line (CliError).
import { CliError } from "./api-client.js";

/** A TCP port; 0 (pick a free one) unless allowZero is false. */
export function port(name: string, value: string, allowZero = true): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) throw new CliError(`--${name} must be a port number (got "${value}")`);
  return n;
}

export function millis(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new CliError(`--${name} must be milliseconds >= 0 (got "${value}")`);
  return n;
}
