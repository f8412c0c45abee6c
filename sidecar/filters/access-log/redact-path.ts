// Paths go into access logs; query parameters named like credentials are masked (the same rule
// shared/log.ts applies to field names). Headers are never logged.
const SECRET_PARAM = /(token|secret|password|passwd|auth|signature|sig|key|session|code)/i;

export function redactPath(path: string): string {
  const q = path.indexOf("?");
  if (q === -1) return path;
  const parts = path.slice(q + 1).split("&");
  let changed = false;
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    const eq = p.indexOf("=");
    const name = eq === -1 ? p : p.slice(0, eq);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // keep the raw name
    }
    if (eq !== -1 && SECRET_PARAM.test(decoded)) {
      parts[i] = `${name}=[redacted]`;
      changed = true;
    }
  }
  return changed ? `${path.slice(0, q)}?${parts.join("&")}` : path;
}
