// The one normalisation of a request path, done at the listener edge (inbound and outbound,
// HTTP/1.1 and HTTP/2) so that routing, authorization, logs and the forwarded request all see the
// same path: a DENY rule judges exactly what the app receives. Envoy's normalize_path +
// merge_slashes + path_with_escaped_slashes_action, applied to the path; the query is kept as is.
//
// - percent-escapes of unreserved characters are decoded (RFC 3986 §6.2.2.2: "/%61dmin" is
//   "/admin", "%2e" is "."), other escapes keep their byte with upper-case hex (§6.2.2.1);
// - "//" merges to "/", then dot segments are removed (§5.2.4), after decoding, so "%2e%2e" is
//   removed like "..";
// - "%2F" and "%5C" (an encoded "/" or "\"), which apps decode into a different path than the one
//   judged here, are refused unless MeshConfig keeps them (then they stay encoded and are data);
// - what cannot be normalised safely is refused: invalid escapes ("%zz"), NUL or "%00", a raw
//   backslash, a fragment, a byte outside visible ASCII.
import { MeshError } from "../core/handler.js";

/** MeshConfig spec.pathNormalization.escapedSlashes. */
export type EscapedSlashes = "REJECT" | "KEEP";

export type Refusal = { ok: false; code: string; reason: string };
export type PathResult = { ok: true; path: string } | Refusal;

/** pchar (RFC 3986) without "%": the characters a path in normal form is made of, besides "/". */
const PLAIN = new Uint8Array(128);
for (const ch of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@") PLAIN[ch.charCodeAt(0)] = 1;

/** A path already in normal form (the common case): non-empty segments of plain pchars, none "." or "..". */
function isNormal(path: string): boolean {
  let segStart = 1;
  for (let i = 1; i <= path.length; i++) {
    const c = i === path.length ? 47 : path.charCodeAt(i);
    if (c === 47 /* / */) {
      const len = i - segStart;
      if (len === 0 && i !== path.length) return false;
      if (len <= 2 && len > 0 && path.charCodeAt(segStart) === 46 && (len === 1 || path.charCodeAt(segStart + 1) === 46)) return false;
      segStart = i + 1;
    } else if (c >= 128 || PLAIN[c] === 0) return false;
  }
  return true;
}
// eslint-disable-next-line no-control-regex -- control characters, space and "#" are what is refused
const BAD_QUERY = /[\x00-\x20\x7f#]/;
const UNRESERVED = /[A-Za-z0-9\-._~]/;

const BAD_PATH = "TSMESH_ERR_BAD_PATH";
const ESCAPED_SLASH = "TSMESH_ERR_ESCAPED_SLASH";

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

const refuse = (code: string, reason: string): Refusal => ({ ok: false, code, reason });

/** Decodes unreserved escapes and checks every character of the path part. */
function decode(path: string, escapedSlashes: EscapedSlashes): string | Refusal {
  let out = "";
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 37 /* % */) {
      const hi = hexValue(path.charCodeAt(i + 1));
      const lo = hexValue(path.charCodeAt(i + 2));
      if (hi < 0 || lo < 0) return refuse(BAD_PATH, "invalid percent-encoding in the path");
      const byte = hi * 16 + lo;
      i += 2;
      if (byte === 0) return refuse(BAD_PATH, "the path contains an encoded NUL (%00)");
      if (byte === 0x2f || byte === 0x5c) {
        if (escapedSlashes === "REJECT")
          return refuse(
            ESCAPED_SLASH,
            "the path contains an encoded slash or backslash (%2F, %5C); send it unencoded, or set MeshConfig spec.pathNormalization.escapedSlashes: KEEP",
          );
      }
      const ch = String.fromCharCode(byte);
      out += UNRESERVED.test(ch) ? ch : "%" + byte.toString(16).toUpperCase().padStart(2, "0");
      continue;
    }
    if (c === 92 /* \ */) return refuse(BAD_PATH, "the path contains a backslash; use / instead");
    if (c === 35 /* # */) return refuse(BAD_PATH, "the request target contains a fragment (#); drop it");
    if (c <= 0x20 || c >= 0x7f) return refuse(BAD_PATH, "the path contains a control character, space or non-ASCII byte; percent-encode it");
    out += path[i];
  }
  return out;
}

/** Merges slashes and removes dot segments; a trailing "/", "/." or "/.." leaves a trailing slash. */
function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split("/");
  for (const seg of segments) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  const last = segments[segments.length - 1];
  const trailing = out.length > 0 && (last === "" || last === "." || last === "..");
  return "/" + out.join("/") + (trailing ? "/" : "");
}

/** `target` is origin-form ("/path?query"); the result is the normal path with the query unchanged. */
export function normalizeRequestPath(target: string, escapedSlashes: EscapedSlashes = "REJECT"): PathResult {
  const q = target.indexOf("?");
  const path = q === -1 ? target : target.slice(0, q);
  const query = q === -1 ? "" : target.slice(q);
  if (query !== "" && BAD_QUERY.test(query)) return refuse(BAD_PATH, "the query contains a control character, space or fragment (#); percent-encode it");
  if (path.charCodeAt(0) !== 47 /* / */) return refuse(BAD_PATH, "the path must start with /");
  if (isNormal(path)) return { ok: true, path: target };
  const decoded = decode(path, escapedSlashes);
  if (typeof decoded !== "string") return decoded;
  return { ok: true, path: removeDotSegments(decoded) + query };
}

/** The listener's answer to a refused path: 400 with the code and reason. */
export function pathError(r: Refusal): MeshError {
  return new MeshError(400, r.code, r.reason);
}
