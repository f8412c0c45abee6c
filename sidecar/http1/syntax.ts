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

/** A message the codec must not use; its connection is closed. */
export class ProtocolError extends Error {
  readonly code = "TSMESH_ERR_UPSTREAM_PROTOCOL";
}
