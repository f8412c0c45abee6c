// deploy/iptables.sh against real netfilter: a throwaway "pod" network namespace joined by a
// veth pair to a "peer" namespace (both vanish with their processes). Needs root, unshare,
// nsenter, ip and iptables; skipped where those are missing (the dry-run checks always run).
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const SCRIPT = fileURLToPath(new URL("../../deploy/iptables.sh", import.meta.url));
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const canNetns =
  process.platform === "linux" &&
  process.getuid?.() === 0 &&
  ["unshare", "nsenter", "ip", "iptables", "iptables-save", "setpriv"].every(has) &&
  spawnSync("unshare", ["-n", "iptables", "-w", "-t", "nat", "-S"]).status === 0;

const dir = mkdtempSync(join(tmpdir(), "tsmesh-iptables-"));
chmodSync(dir, 0o755); // the probe also runs as the proxy UID
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Listeners standing in for the proxy (15001/15006/15020), the app (8080) and an excluded port.
writeFileSync(
  join(dir, "servers.mjs"),
  `import net from "node:net";
for (const [port, label] of [[15001, "outbound"], [15006, "inbound"], [15020, "admin"], [8080, "app"], [9090, "excluded"]]) {
  net.createServer((s) => s.end(label)).listen(port, "0.0.0.0");
}
setTimeout(() => process.exit(0), 20000);
`,
);
// Prints what answered at host:port, or the connect error.
writeFileSync(
  join(dir, "probe.mjs"),
  `import net from "node:net";
const s = net.connect({ host: process.argv[2], port: Number(process.argv[3]) });
let got = "";
s.setTimeout(1500, () => { console.log("timeout"); process.exit(0); });
s.on("data", (d) => (got += d));
s.on("end", () => { console.log(got); process.exit(0); });
s.on("error", (e) => { console.log(e.code); process.exit(0); });
`,
);

// One shell run: build the namespaces, apply the script twice, probe, print a JSON report.
const scenario = `
set -eu
ip link set lo up
unshare -n sleep 30 >/dev/null 2>&1 & PEER=$!
SRV=
trap 'kill $PEER $SRV 2>/dev/null || true' EXIT
while [ "$(readlink /proc/$PEER/ns/net)" = "$(readlink /proc/self/ns/net)" ]; do sleep 0.01; done
ip link add v0 type veth peer name v1 netns $PEER
ip addr add 10.99.0.1/24 dev v0 && ip link set v0 up
nsenter -t $PEER -n sh -c 'ip link set lo up; ip addr add 10.99.0.2/24 dev v1; ip link set v1 up'
export TSMESH_EXCLUDE_INBOUND_PORTS=9090 TSMESH_EXCLUDE_OUTBOUND_PORTS=5432
sh "$SCRIPT" >/dev/null
sh "$SCRIPT" >/dev/null
iptables-save -t nat | grep -v '^#' > "$DIR/rules.txt"
node "$DIR/servers.mjs" >/dev/null 2>&1 & SRV=$!
i=0; until [ "$(node "$DIR/probe.mjs" 127.0.0.1 8080)" = app ] || [ $i -ge 100 ]; do sleep 0.05; i=$((i+1)); done
P="node $DIR/probe.mjs"
echo "app_to_peer=$($P 10.99.0.2 80)"
echo "proxy_uid_to_peer=$(setpriv --reuid 1337 --regid 1337 --clear-groups $P 10.99.0.2 80)"
echo "app_to_loopback=$($P 127.0.0.1 8080)"
echo "app_to_dns=$($P 10.99.0.2 53)"
echo "app_to_excluded_out=$($P 10.99.0.2 5432)"
echo "peer_to_app=$(nsenter -t $PEER -n $P 10.99.0.1 8080)"
echo "peer_to_admin=$(nsenter -t $PEER -n $P 10.99.0.1 15020)"
echo "peer_to_excluded_in=$(nsenter -t $PEER -n $P 10.99.0.1 9090)"
`;

describe.skipIf(!canNetns)("deploy/iptables.sh in a real network namespace", () => {
  it("redirects app traffic both ways and exempts the proxy UID, loopback, admin, DNS and exclusions", () => {
    const out = execFileSync("unshare", ["-n", "sh", "-c", scenario], {
      env: { ...process.env, SCRIPT, DIR: dir },
      encoding: "utf8",
      timeout: 20_000,
    });
    const seen = Object.fromEntries(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
    expect(seen).toEqual({
      app_to_peer: "outbound", // app -> another pod: into the proxy's outbound listener
      proxy_uid_to_peer: "ECONNREFUSED", // the proxy itself reaches the real peer (nothing listens)
      app_to_loopback: "app",
      app_to_dns: "ECONNREFUSED",
      app_to_excluded_out: "ECONNREFUSED",
      peer_to_app: "inbound", // another pod -> app port: into the proxy's inbound listener
      peer_to_admin: "admin", // kubelet probes reach the admin port directly
      peer_to_excluded_in: "excluded",
    });
  });

  it("is idempotent: two runs leave one jump per hook and no duplicated rules", () => {
    const rules = execFileSync("cat", [join(dir, "rules.txt")], { encoding: "utf8" }).split("\n");
    expect(rules.filter((r) => r === "-A PREROUTING -p tcp -j TSMESH_INBOUND")).toHaveLength(1);
    expect(rules.filter((r) => r === "-A OUTPUT -p tcp -j TSMESH_OUTPUT")).toHaveLength(1);
    const tsmesh = rules.filter((r) => r.startsWith("-A TSMESH_"));
    expect(new Set(tsmesh).size).toBe(tsmesh.length);
    expect(tsmesh).toContain("-A TSMESH_OUTPUT -m owner --uid-owner 1337 -j RETURN");
  });
});

describe("deploy/iptables.sh input checks (dry run)", () => {
  const run = (env: Record<string, string>) =>
    spawnSync("sh", [SCRIPT], { env: { PATH: process.env.PATH ?? "", TSMESH_DRY_RUN: "1", ...env }, encoding: "utf8" });

  it("prints the rules it would install", () => {
    const r = run({ TSMESH_PROXY_UID: "2000", TSMESH_EXCLUDE_OUTBOUND_CIDRS: "169.254.169.254/32" });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("-A TSMESH_OUTPUT -m owner --uid-owner 2000 -j RETURN");
    expect(r.stdout).toContain("-A TSMESH_OUTPUT -d 169.254.169.254/32 -j RETURN");
    expect(r.stdout).toContain("-A TSMESH_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006");
  });

  it("rejects bad input before touching anything", () => {
    for (const env of [
      { TSMESH_PROXY_UID: "0" },
      { TSMESH_INBOUND_PORT: "70000" },
      { TSMESH_EXCLUDE_INBOUND_PORTS: "80,http" },
      { TSMESH_EXCLUDE_OUTBOUND_CIDRS: "fd00::/8" },
    ]) {
      const r = run(env);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(/TSMESH_ERR_IPTABLES_CONFIG/);
      expect(r.stdout).toBe("");
    }
  });
});
