// Path normalization before authorization (Istio's BASE normalization plus merged slashes), so
// "/./admin", "//admin" or "/%61dmin" cannot slip past a rule written for "/admin".
const UNRESERVED = /%([0-9A-Fa-f]{2})/g;

function decodeUnreserved(path: string): string {
  return path.replace(UNRESERVED, (match, hex: string) => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : match.toUpperCase();
  });
}

/** Path without query or fragment, unreserved escapes decoded, slashes merged, dot segments removed. */
export function normalizePath(raw: string): string {
  const end = raw.search(/[?#]/);
  const path = decodeUnreserved(end === -1 ? raw : raw.slice(0, end));
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
