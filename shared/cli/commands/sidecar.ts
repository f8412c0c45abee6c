// `tsmesh sidecar`: runs the data plane for one service. Static config from flags; the snapshot
// from --config FILE and certificates from --cert/--key/--ca for now, or a certificate from the
// control plane (--control-plane + --token). SIGTERM/SIGINT and POST /quit drain gracefully.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { createLogger } from "../../log.js";
import { loadSnapshotFile } from "../../../sidecar/config/snapshot-file.js";
import { loadTlsFiles, type TlsMaterial } from "../../../sidecar/config/tls-material.js";
import { startSidecar, type Sidecar } from "../../../sidecar/main.js";
import { WorkloadIdentity } from "../../../sidecar/identity/index.js";

interface SidecarFlags {
  service: string;
  appPort: string;
  inboundPort: string;
  outboundPort: string;
  adminPort: string;
  bind: string;
  config?: string;
  cert?: string;
  key?: string;
  ca?: string;
  controlPlane?: string;
  token?: string;
  drainTimeout: string;
}

function port(name: string, value: string, allowZero = true): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > 65535) throw new Error(`--${name} must be a port number (got "${value}")`);
  return n;
}

export function register(program: Command): void {
  program
    .command("sidecar")
    .description("run the mesh sidecar proxy for one service")
    .requiredOption("--service <name>", "service this sidecar fronts")
    .requiredOption("--app-port <port>", "port of the local app (127.0.0.1)")
    .option("--inbound-port <port>", "mTLS listener for peers", "15006")
    .option("--outbound-port <port>", "listener for the app's outgoing requests (HTTP_PROXY)", "15001")
    .option("--admin-port <port>", "admin listener: /ready /live /config_dump /metrics", "15020")
    .option("--bind <addr>", "address of the inbound and admin listeners", "0.0.0.0")
    .option("--config <file>", "static config: a Snapshot JSON")
    .option("--cert <file>", "workload certificate chain (PEM)")
    .option("--key <file>", "workload private key (PEM)")
    .option("--ca <file>", "trust bundle (PEM)")
    .option("--control-plane <host:port>", "control plane gRPC address")
    .option("--token <token>", "one-time bootstrap token for the first certificate (or TSMESH_TOKEN)")
    .option("--drain-timeout <ms>", "how long a graceful exit waits for in-flight requests", "10000")
    .action(async (flags: SidecarFlags) => {
      const log = createLogger("sidecar").child({ service: flags.service });
      let sidecar: Sidecar | undefined;
      let workload: WorkloadIdentity | undefined;
      try {
        const token = flags.token ?? process.env.TSMESH_TOKEN;
        let tls: TlsMaterial | undefined;
        if (flags.cert || flags.key) {
          if (!flags.cert || !flags.key || !flags.ca) throw new Error("--cert, --key and --ca go together");
          tls = loadTlsFiles(flags.cert, flags.key, flags.ca);
        }
        const drainTimeoutMs = Number(flags.drainTimeout);
        if (!Number.isFinite(drainTimeoutMs) || drainTimeoutMs < 0) throw new Error("--drain-timeout must be milliseconds >= 0");
        sidecar = await startSidecar({
          service: flags.service,
          appPort: port("app-port", flags.appPort, false),
          inboundPort: port("inbound-port", flags.inboundPort),
          outboundPort: port("outbound-port", flags.outboundPort),
          adminPort: port("admin-port", flags.adminPort),
          bind: flags.bind,
          snapshot: flags.config ? loadSnapshotFile(flags.config) : undefined,
          tls,
          drainTimeoutMs,
          log,
          onQuit: () => process.exit(0),
        });
        if (!tls && flags.controlPlane) {
          if (!flags.ca) throw new Error("--ca (trust bundle for the control plane) is needed with --control-plane");
          const s = sidecar;
          workload = new WorkloadIdentity({
            service: flags.service,
            controlPlane: flags.controlPlane,
            trustBundlePem: [readFileSync(flags.ca, "utf8")],
            token,
            registry: s.registry,
            log,
          });
          workload.on("rotate", (state) => s.identity.set(state));
          s.identity.set(await workload.start());
        }
      } catch (err) {
        const e = err as Error & { code?: string };
        log.error("sidecar failed to start", { error: e.message, code: e.code });
        await sidecar?.close();
        process.exit(1);
      }
      const running = sidecar;
      const stop = (signal: string) => {
        log.info("signal received, draining", { signal });
        workload?.stop();
        void running.drain().then(() => process.exit(0));
      };
      // SIGHUP re-reads --config: a hot update without a control plane (in-flight requests go on).
      if (flags.config) {
        const file = flags.config;
        process.on("SIGHUP", () => {
          try {
            running.config.set(loadSnapshotFile(file));
          } catch (err) {
            const e = err as Error & { code?: string };
            log.error("config reload rejected, keeping the current one", { error: e.message, code: e.code });
          }
        });
      }
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
    });
}
