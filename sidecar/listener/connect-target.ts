// The target of an HTTP CONNECT request: authority-form, uri-host ":" port with the port required
// (RFC 9110 §9.3.6). What HTTP_PROXY clients (grpc-js, undici's ProxyAgent, curl -p) send to
// open a tunnel; anything else is refused (400) before it can be routed or dialled.
import { isIP } from "node:net";
import { isValidAuthority } from "./authority.js";

export interface ConnectTarget {
  /** As sent: "greeter:50051", "[::1]:8443". */
  authority: string;
  /** As the route layer reads it: IPv6 keeps its brackets. */
  host: string;
  /** For dialling: IPv6 without brackets. */
  hostname: string;
  port: number;
}

/** A DNS name or IPv4 address: what can be routed on or dialled (RFC 3986's wider reg-name is not). */
const HOSTNAME = /^[A-Za-z0-9_]([A-Za-z0-9\-._]*[A-Za-z0-9_])?$/;

export function parseConnectTarget(target: string): ConnectTarget | undefined {
  if (target.length > 255 + 8 || !isValidAuthority(target)) return undefined;
  const colon = target.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const host = target.slice(0, colon);
  const portText = target.slice(colon + 1);
  if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  let hostname = host;
  if (host.startsWith("[")) {
    if (!host.endsWith("]")) return undefined;
    hostname = host.slice(1, -1);
    if (isIP(hostname) !== 6) return undefined;
  } else if (!HOSTNAME.test(host)) return undefined;
  return { authority: target, host, hostname, port };
}
