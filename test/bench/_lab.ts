// Manual lab (not run by `npm run bench`): starts the bench app, sidecar B (inbound, PERMISSIVE)
// and sidecar A (outbound to B), prints their ports and pids, and stays up until SIGINT.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestPki } from "../harness/mesh-certs.js";
import { endpointsAt, snapshotOf, startSidecarProcess } from "../harness/processes.js";
import { spawnWithPort } from "./_tools.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "tsmesh-lab-"));
const pki = createTestPki("lab");
const extra = (process.env.LAB_ARGS ?? "").split(" ").filter(Boolean);
const app = await spawnWithPort([join(here, "_bench-app.js")]);
const quiet = { meshConfig: { trustDomain: "cluster.local", mtls: "PERMISSIVE" as const, logLevel: "info" as const } };
const b = await startSidecarProcess({ service: "b", appPort: app.port, certs: pki.issue("b"), dir, snapshot: snapshotOf(quiet), extraArgs: extra });
// b2 serves the app's h2c port: HTTP/2 through the pair (authority b2).
const b2 = await startSidecarProcess({ service: "b2", appPort: app.ports[1]!, certs: pki.issue("b2"), dir, snapshot: snapshotOf(quiet), extraArgs: extra });
const a = await startSidecarProcess({ service: "a", appPort: 1, certs: pki.issue("a"), dir, snapshot: snapshotOf({ ...quiet, endpoints: { b: endpointsAt("b", [b.inbound]), b2: endpointsAt("b2", [b2.inbound]) } }), extraArgs: extra });
console.log(JSON.stringify({ app: app.port, appH2: app.ports[1], b: b.inbound, b2: b2.inbound, a: a.outbound, pidA: a.proc.pid, pidB: b.proc.pid, pidB2: b2.proc.pid, pidApp: app.proc.pid }));
const stop = async () => { await a.stop(); await b.stop(); await b2.stop(); app.proc.kill(); process.exit(0); };
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
setInterval(() => {}, 1 << 30);
