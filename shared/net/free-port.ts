import { readFileSync } from "node:fs";
import net from "node:net";

// Ports handed out by the kernel for port 0 come from the ephemeral range, which outgoing
// connections also draw their local ports from: a port found free there can be taken by any
// client socket before the caller binds it. Picking below that range leaves only the (rare)
// race with another caller of freePort().
const [ephemeralLow] = (() => {
  try {
    return readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/).map(Number);
  } catch {
    return [32768];
  }
})();
const LOW = 20_000;
const HIGH = Math.max(LOW + 1000, Math.min(ephemeralLow ?? 32768, 32768));

function tryListen(port: number, host: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", () => resolve(undefined));
    srv.listen(port, host, () => {
      const { port: bound } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(bound));
    });
  });
}

/** A loopback port that is free now; there is a small race until the caller binds it. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await tryListen(LOW + Math.floor(Math.random() * (HIGH - LOW)), host);
    if (port !== undefined) return port;
  }
  const port = await tryListen(0, host);
  if (port === undefined) throw new Error(`no free port on ${host}`);
  return port;
}
