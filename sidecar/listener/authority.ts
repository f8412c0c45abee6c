// The authority a request is routed on (Host, absolute-form URI, :authority), as uri-host
// [":" port] characters (RFC 9110 §7.2, RFC 3986 §3.2.2): routing and the app must read the same
// host, so a space, "/", "\\", "@" (userinfo) or a byte outside ASCII is refused (400) rather than
// passed on for another parser to split its own way. Shared by the HTTP/1.1 and HTTP/2 listeners.
const AUTHORITY = /^[A-Za-z0-9\-._~%!$&'()*+,;=:[\]]+$/;

export function isValidAuthority(authority: string): boolean {
  return AUTHORITY.test(authority);
}
