// The sidecar's flags, shared by `tsmesh sidecar` and `tsmesh run` (which runs the same sidecar
// in-process next to an app): their declarations, their parsing into startSidecar/joinMesh
// options, and starting the sidecar from them. Each command keeps its own help wording, its
// bootstrap defaults, how it gets a token and its signal handling.
import type { Command } from "commander";
import type { Logger } from "../log.js";
import { readTrustBundle } from "../pki/bundle-file.js"; // not pki/index: node-forge is not needed here
import { CliError } from "./api-client.js";
import { millis, port } from "./flag-values.js";
import { minorGc } from "../sidecar-node-options.js";
import type { BootstrapFlags, BootstrapSettings } from "../../sidecar/bootstrap/flags.js";
import type { MeshMembership } from "../../sidecar/bootstrap/connect.js";
import { loadSnapshotFile } from "../../sidecar/config/snapshot-file.js";
import { loadTlsFiles, type TlsMaterial } from "../../sidecar/config/tls-material.js";
import { startSidecar, type Sidecar } from "../../sidecar/main.js";
import { parseAppProbers } from "../../sidecar/admin/app-probers.js";
import { APP_PROBERS_ENV } from "../inject/constants.js";

/** As commander parses the options below; the control-plane ones are resolveBootstrap's input. */
export interface SidecarFlags extends BootstrapFlags {
  service: string;
  appPort: string;
  inboundPort: string;
  outboundPort: string;
  adminPort: string;
  bind: string;
  config?: string;
  cert?: string;
  key?: string;
  configCache?: string;
  drainTimeout: string;
  drainDuration: string;
  appProbers?: string;
}

type Key = Exclude<keyof SidecarFlags, "instanceId">; // instanceId: $POD_NAME, not a flag
interface OptionSpec {
  key: Key;
  flags: string;
  help: string;
  fallback?: string;
  required?: true;
}

// In help order; the help texts are `tsmesh sidecar`'s, a command may reword them.
const OPTIONS: OptionSpec[] = [
  { key: "service", flags: "--service <name>", help: "service this sidecar fronts", required: true },
  { key: "appPort", flags: "--app-port <port>", help: "port of the local app (127.0.0.1)", required: true },
  { key: "inboundPort", flags: "--inbound-port <port>", help: "mTLS listener for peers", fallback: "15006" },
  { key: "outboundPort", flags: "--outbound-port <port>", help: "listener for the app's outgoing requests (HTTP_PROXY)", fallback: "15001" },
  { key: "adminPort", flags: "--admin-port <port>", help: "admin listener: /ready /live /config_dump /metrics /app-health/*", fallback: "15020" },
  { key: "bind", flags: "--bind <addr>", help: "address of the inbound and admin listeners", fallback: "0.0.0.0" },
  { key: "config", flags: "--config <file>", help: "static config: a Snapshot JSON" },
  { key: "cert", flags: "--cert <file>", help: "workload certificate chain (PEM)" },
  { key: "key", flags: "--key <file>", help: "workload private key (PEM)" },
  { key: "ca", flags: "--ca <file>", help: "trust bundle (PEM)" },
  { key: "controlPlane", flags: "--control-plane <host:port,...>", help: "control plane gRPC address(es) (or TSMESH_CONTROL_PLANE)" },
  { key: "token", flags: "--token <token>", help: "one-time bootstrap token for the first certificate (or TSMESH_BOOTSTRAP_TOKEN)" },
  { key: "bootstrapToken", flags: "--bootstrap-token <token>", help: "same as --token" },
  {
    key: "tokenFile",
    flags: "--token-file <file>",
    help: "read the token from this file at start, e.g. a projected ServiceAccount token (or TSMESH_BOOTSTRAP_TOKEN_FILE)",
  },
  { key: "namespace", flags: "--namespace <ns>", help: "namespace of this workload's identity (or POD_NAMESPACE; default: default)" },
  { key: "caBundle", flags: "--ca-bundle <file>", help: "anchors that verify the control plane (or TSMESH_CA_BUNDLE)" },
  { key: "labels", flags: "--labels <k=v,...>", help: "endpoint labels, e.g. version=v2 for canary subsets (or TSMESH_LABELS)" },
  {
    key: "advertiseAddress",
    flags: "--advertise-address <addr>",
    help: "address peers use for the inbound listener (default $POD_IP, else --bind unless 0.0.0.0, else 127.0.0.1)",
  },
  {
    key: "configCache",
    flags: "--config-cache <file>",
    help: "last-known-good config, served at start while no control plane answers (or TSMESH_CONFIG_CACHE; default in the temp dir)",
  },
  { key: "drainTimeout", flags: "--drain-timeout <ms>", help: "how long a graceful exit waits for in-flight requests", fallback: "10000" },
  {
    key: "drainDuration",
    flags: "--drain-duration <ms>",
    help: "on a graceful exit, how long the sidecar keeps accepting after deregistering, while peers drop it from their config",
    fallback: "5000",
  },
  {
    key: "appProbers",
    flags: "--app-probers <json>",
    help: "the app's own probes served at /app-health/<container>/<probe> on the admin port, JSON as tsmesh inject writes it (or TSMESH_APP_PROBERS)",
  },
];

export interface DeclareOptions {
  /** Help texts that differ from `tsmesh sidecar`'s. */
  help?: Partial<Record<Key, string>>;
  /** Flags the command does not take. */
  omit?: Key[];
  /** Defaults that differ from `tsmesh sidecar`'s. */
  fallback?: Partial<Record<Key, string>>;
}

/** Declares the sidecar flags on `cmd` (parsed into a SidecarFlags object by commander). */
export function declareSidecarOptions(cmd: Command, opts: DeclareOptions = {}): Command {
  for (const o of OPTIONS) {
    if (opts.omit?.includes(o.key)) continue;
    const help = opts.help?.[o.key] ?? o.help;
    const fallback = opts.fallback?.[o.key] ?? o.fallback;
    if (o.required) cmd.requiredOption(o.flags, help);
    else if (fallback !== undefined) cmd.option(o.flags, help, fallback);
    else cmd.option(o.flags, help);
  }
  return cmd;
}

/** What a command adds to its flags to start the sidecar. */
export interface StartFromFlags {
  log: Logger;
  /** POST /quit on the admin listener. */
  onQuit: () => void;
  /** Resolved by the command (its own defaults); undefined: static mode. */
  bootstrap: BootstrapSettings | undefined;
  /** The bootstrap token, got before the sidecar starts (a failure binds no port). */
  token: (bootstrap: BootstrapSettings) => Promise<string | undefined>;
  /** Last-known-good config file for joinMesh, once the inbound port is known. */
  cacheFile?: (sidecar: Sidecar) => string;
}

/** Filled in as the start proceeds, so a failure or a signal part-way closes what is up. */
export interface SidecarParts {
  sidecar?: Sidecar;
  membership?: MeshMembership;
}

/**
 * Starts the sidecar the flags describe: static TLS (--cert/--key/--ca) and --config files, or
 * joined to the control plane when `bootstrap` is given and no static TLS is.
 */
export async function startSidecarFromFlags(flags: SidecarFlags, start: StartFromFlags, parts: SidecarParts): Promise<Sidecar> {
  const { bootstrap, log } = start;
  const ports = {
    appPort: port("app-port", flags.appPort, false),
    inboundPort: port("inbound-port", flags.inboundPort),
    outboundPort: port("outbound-port", flags.outboundPort),
    adminPort: port("admin-port", flags.adminPort),
  };
  const drainTimeoutMs = millis("drain-timeout", flags.drainTimeout);
  const drainDurationMs = millis("drain-duration", flags.drainDuration);
  const appProbers = parseAppProbers(flags.appProbers ?? process.env[APP_PROBERS_ENV]);
  let tls: TlsMaterial | undefined;
  if (flags.cert || flags.key) {
    if (!flags.cert || !flags.key || !flags.ca) throw new CliError("--cert, --key and --ca go together");
    tls = loadTlsFiles(flags.cert, flags.key, flags.ca);
  }
  const join = tls ? undefined : bootstrap;
  const token = join ? await start.token(join) : undefined;
  const sidecar = await startSidecar({
    service: flags.service,
    namespace: join?.namespace ?? flags.namespace ?? (process.env.POD_NAMESPACE || undefined),
    ...ports,
    bind: flags.bind,
    snapshot: flags.config ? loadSnapshotFile(flags.config) : undefined,
    tls,
    drainTimeoutMs,
    drainDurationMs,
    log,
    onQuit: start.onQuit,
    scavengeWhenIdle: minorGc(),
    appProbers,
  });
  parts.sidecar = sidecar;
  if (join) {
    // grpc-js, the proto loader and the identity client only for a sidecar that joins a
    // control plane: a static-config one never needs them (~10 MB of RSS).
    const { joinMesh } = await import("../../sidecar/bootstrap/connect.js");
    const wildcard = flags.bind === "0.0.0.0" || flags.bind === "::";
    parts.membership = await joinMesh(sidecar, {
      service: flags.service,
      controlPlanes: join.controlPlanes,
      namespace: join.namespace,
      token,
      trustBundlePem: await readTrustBundle(join.caBundleFile),
      labels: join.labels,
      advertiseAddress: join.advertiseAddress ?? (wildcard ? "127.0.0.1" : flags.bind),
      instanceId: join.instanceId,
      cacheFile: start.cacheFile?.(sidecar),
      subscribe: !flags.config,
      log,
    });
  }
  return sidecar;
}
