// HTTP/1.1 syntax shared by the sidecar's two codecs (listener/h1 serves, upstream/h1 sends):
// RFC 9110 §5.6.2 tokens (methods, field names) and the error for a message that breaks framing.
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

export function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] === 0) return false;
  }
  return true;
}

/**
 * A field value without the optional whitespace around it: SP and HTAB only (RFC 9110 §5.6.3).
 * String.prototype.trim would also drop VT, FF and NBSP, accepting e.g. "\x0bchunked" as
 * "chunked" where llhttp refuses the field; left in place, the CTL check refuses them too.
 */
export function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

const DIGITS = /^\d{1,15}$/;

/**
 * A Content-Length value as a number: 1*DIGIT (RFC 9110 §8.6), at most 15 digits so it stays an
 * exact integer; undefined for anything else (signs, spaces, lists, hex).
 */
export function contentLength(value: string | undefined): number | undefined {
  return value !== undefined && DIGITS.test(value) ? Number(value) : undefined;
}

/** A message the codec must not use; its connection is closed. */
export class ProtocolError extends Error {
  readonly code = "TSMESH_ERR_UPSTREAM_PROTOCOL";
}
