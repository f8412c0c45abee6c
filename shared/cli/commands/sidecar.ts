// `tsmesh sidecar`: runs the data plane for one service. Either static (--config FILE snapshot,
// --cert/--key/--ca) or joined to the control plane (--control-plane + --token + --ca-bundle:
// certificate from the CA, config pushed; sidecar/bootstrap). SIGTERM/SIGINT and POST /quit drain.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { createLogger } from "../../log.js";
import { applySidecarRuntimeFlags, collectStartupGarbage } from "../../sidecar-node-options.js";
import { readTrustBundle } from "../../pki/bundle-file.js";
import { resolveBootstrap } from "../../../sidecar/bootstrap/flags.js";
import type { MeshMembership } from "../../../sidecar/bootstrap/index.js";
import { loadSnapshotFile } from "../../../sidecar/config/snapshot-file.js";
import { loadTlsFiles, type TlsMaterial } from "../../../sidecar/config/tls-material.js";
import { startSidecar, type Sidecar } from "../../../sidecar/main.js";
import { defaultCacheFile } from "../../../sidecar/xds/cache-file.js";

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
  bootstrapToken?: string;
  tokenFile?: string;
  namespace?: string;
  caBundle?: string;
  labels?: string;
  advertiseAddress?: string;
  drainTimeout: string;
  configCache?: string;
}

async function readTokenFile(file: string): Promise<string> {
  let token: string;
  try {
    token = (await readFile(file, "utf8")).trim();
  } catch (err) {
    throw new Error(`--token-file ${file}: ${(err as Error).message}`);
  }
  if (!token) throw new Error(`--token-file ${file} is empty`);
  return token;
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
    .option("--control-plane <host:port,...>", "control plane gRPC address(es) (or TSMESH_CONTROL_PLANE)")
    .option("--token <token>", "one-time bootstrap token for the first certificate (or TSMESH_BOOTSTRAP_TOKEN)")
    .option("--bootstrap-token <token>", "same as --token")
    .option("--token-file <file>", "read the token from this file at start, e.g. a projected ServiceAccount token (or TSMESH_BOOTSTRAP_TOKEN_FILE)")
    .option("--namespace <ns>", "namespace of this workload's identity (or POD_NAMESPACE; default: default)")
    .option("--ca-bundle <file>", "anchors that verify the control plane (or TSMESH_CA_BUNDLE)")
    .option("--labels <k=v,...>", "endpoint labels, e.g. version=v2 for canary subsets (or TSMESH_LABELS)")
    .option("--advertise-address <addr>", "address peers use for the inbound listener (default $POD_IP, else --bind unless 0.0.0.0, else 127.0.0.1)")
    .option("--config-cache <file>", "last-known-good config, served at start while no control plane answers (or TSMESH_CONFIG_CACHE; default in the temp dir)")
    .option("--drain-timeout <ms>", "how long a graceful exit waits for in-flight requests", "10000")
    .action(async (flags: SidecarFlags) => {
      applySidecarRuntimeFlags(); // V8 heap growth, before the data path allocates
      const log = createLogger("sidecar").child({ service: flags.service });
      let sidecar: Sidecar | undefined;
      let membership: MeshMembership | undefined;
      const up: { running?: Sidecar } = {};
      let stopping = false;
      // Handlers first: a signal while starting (e.g. waiting for the CA) closes what is already
      // up and exits instead of dying by the default action; once running it drains.
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info("signal received, draining", { signal, starting: !up.running });
        void membership?.stop();
        if (up.running) void up.running.drain().then(() => process.exit(0));
        else void Promise.resolve(sidecar?.close()).finally(() => process.exit(0));
      };
      process.once("SIGTERM", () => stop("SIGTERM"));
      process.once("SIGINT", () => stop("SIGINT"));
      try {
        const bootstrap = resolveBootstrap(flags);
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
        if (!tls && bootstrap) {
          // grpc-js, the proto loader and the identity client only for a sidecar that joins a
          // control plane: a static-config one never needs them (~10 MB of RSS).
          const { joinMesh } = await import("../../../sidecar/bootstrap/connect.js");
          const wildcard = flags.bind === "0.0.0.0" || flags.bind === "::";
          membership = await joinMesh(sidecar, {
            service: flags.service,
            controlPlanes: bootstrap.controlPlanes,
            namespace: bootstrap.namespace,
            token: bootstrap.token ?? (bootstrap.tokenFile ? await readTokenFile(bootstrap.tokenFile) : undefined),
            trustBundlePem: await readTrustBundle(bootstrap.caBundleFile),
            labels: bootstrap.labels,
            advertiseAddress: bootstrap.advertiseAddress ?? (wildcard ? "127.0.0.1" : flags.bind),
            instanceId: bootstrap.instanceId,
            cacheFile: flags.configCache ?? process.env.TSMESH_CONFIG_CACHE ?? defaultCacheFile(flags.service, sidecar.ports.inbound),
            subscribe: !flags.config,
            log,
          });
        }
      } catch (err) {
        if (stopping) return;
        const e = err as Error & { code?: string };
        log.error("sidecar failed to start", { error: e.message, code: e.code });
        await membership?.stop();
        await sidecar?.close();
        process.exit(1);
      }
      if (stopping) return;
      const started = sidecar;
      up.running = started;
      collectStartupGarbage(); // see shared/sidecar-node-options.ts
      // SIGHUP re-reads --config: a hot update without a control plane (in-flight requests go on).
      if (flags.config) {
        const file = flags.config;
        process.on("SIGHUP", () => {
          try {
            started.config.set(loadSnapshotFile(file));
          } catch (err) {
            const e = err as Error & { code?: string };
            log.error("config reload rejected, keeping the current one", { error: e.message, code: e.code });
          }
        });
      }
    });
}
