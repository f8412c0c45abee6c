// `tsmesh run --service NAME --app-port N [sidecar flags] -- <command...>`: a sidecar next to any
// local process. The lifecycle is the point: the app starts only once the sidecar is ready, gets
// HTTP_PROXY pointing at the outbound listener (and, for Node apps, a preload that sends fetch and
// node:http there), and when it exits the sidecar drains and
// `tsmesh run` exits with the app's code. SIGTERM/SIGINT go to the app first; the drain follows
// its exit. Without --token, a bootstrap token is created through the API with the admin token
// (TSMESH_TOKEN or ./.tsmesh/admin-token), as `tsmesh token create` would. The app's environment
// carries neither token (app-env.ts).
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import type { Command } from "commander";
import { createLogger, type Logger } from "../../log.js";
import { applySidecarRuntimeFlags, collectStartupGarbage } from "../../sidecar-node-options.js";
import { api, CliError } from "../api-client.js";
import { appEnvironment, nodeMeshEnvironment } from "../app-env.js";
import { millis } from "../flag-values.js";
import { declareSidecarOptions, startSidecarFromFlags, type SidecarFlags, type SidecarParts } from "../sidecar-flags.js";
import { BootstrapFlagError, resolveBootstrap, type BootstrapSettings } from "../../../sidecar/bootstrap/flags.js";
import type { Sidecar } from "../../../sidecar/main.js";

interface RunFlags extends SidecarFlags {
  readyTimeout: string;
}

// Where `tsmesh control-plane` with its defaults listens and keeps its CA, for the zero-flag case.
const LOCAL_CONTROL_PLANE = "127.0.0.1:15012";
const LOCAL_BUNDLE = ".tsmesh/certs/bundle.crt";

/** Static mode (--config/--cert) or the control plane; with neither, the local control plane. */
function bootstrapSettings(flags: RunFlags): BootstrapSettings | undefined {
  const staticMode = flags.cert !== undefined || (flags.config !== undefined && !flags.controlPlane);
  if (staticMode) return undefined;
  const withDefaults = {
    ...flags,
    controlPlane: flags.controlPlane ?? process.env.TSMESH_CONTROL_PLANE ?? LOCAL_CONTROL_PLANE,
    caBundle: flags.caBundle ?? process.env.TSMESH_CA_BUNDLE ?? (existsSync(LOCAL_BUNDLE) ? LOCAL_BUNDLE : undefined),
  };
  const settings = resolveBootstrap(withDefaults);
  // No --namespace or --token-file here: the mesh default namespace, the token below.
  return settings && { ...settings, namespace: undefined };
}

async function tokenFor(service: string, settings: BootstrapSettings, log: Logger): Promise<string> {
  if (settings.token) return settings.token;
  const reply = await api("POST", "/api/v1/tokens", { service, ttl: "10m" });
  if (typeof reply.body.token !== "string") throw new CliError("the control plane returned no bootstrap token");
  log.info("created a bootstrap token through the API", { service });
  return reply.body.token;
}

async function waitReady(sidecar: Sidecar, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!sidecar.ready()) {
    if (Date.now() > deadline) throw new CliError(`sidecar not ready after ${timeoutMs} ms (no certificate or no config): see /ready on the admin port`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function register(program: Command): void {
  const run = program
    .command("run")
    .description("run a command with a sidecar: the app starts once the sidecar is ready and gets HTTP_PROXY")
    .argument("<command...>", "the app and its arguments (after --)");
  declareSidecarOptions(run, {
    omit: ["tokenFile", "namespace", "configCache"],
    // Peers of a `tsmesh run` app are on this host; listening on every interface would expose
    // the inbound and admin listeners off it.
    fallback: { bind: "127.0.0.1" },
    help: {
      service: "service the app is",
      appPort: "port the app listens on (127.0.0.1)",
      config: "static config: a Snapshot JSON (no config push)",
      cert: "static workload certificate chain (PEM); with --key and --ca",
      key: "static workload private key (PEM)",
      ca: "static trust bundle (PEM)",
      controlPlane: `control plane gRPC address(es) (default $TSMESH_CONTROL_PLANE or ${LOCAL_CONTROL_PLANE})`,
      token: "bootstrap token (default: created through the API with the admin token)",
      caBundle: `anchors that verify the control plane (default $TSMESH_CA_BUNDLE or ${LOCAL_BUNDLE})`,
      labels: "endpoint labels, e.g. version=v2",
      advertiseAddress: "address peers use for the inbound listener",
      drainTimeout: "how long the sidecar waits for in-flight requests after the app exits",
    },
  })
    .option("--ready-timeout <ms>", "how long to wait for the sidecar before giving up (the app is not started)", "60000")
    .action(async (command: string[], flags: RunFlags) => {
      applySidecarRuntimeFlags(); // V8 heap growth for the in-process sidecar
      const log = createLogger("run").child({ service: flags.service });
      const parts: SidecarParts = {};
      const fail = async (err: unknown): Promise<never> => {
        const e = err as Error & { code?: string };
        // Usage and API errors read best as one plain line; anything else goes to the JSON log.
        if (err instanceof CliError || err instanceof BootstrapFlagError) process.stderr.write(`error: ${e.message}\n`);
        else log.error("tsmesh run failed before starting the app", { error: e.message, code: e.code });
        await parts.membership?.stop();
        await parts.sidecar?.close();
        process.exit(1);
      };

      try {
        const readyTimeoutMs = millis("ready-timeout", flags.readyTimeout);
        const sidecar = await startSidecarFromFlags(
          flags,
          {
            log,
            // POST /quit: the app is asked to stop too; its exit ends `tsmesh run`.
            onQuit: () => stopApp("SIGTERM"),
            bootstrap: bootstrapSettings(flags),
            token: (b) => tokenFor(flags.service, b, log),
          },
          parts,
        );
        await waitReady(sidecar, readyTimeoutMs);
        collectStartupGarbage(); // see shared/sidecar-node-options.ts
      } catch (err) {
        await fail(err);
      }

      // Set once the app is spawned; POST /quit or a signal may come before.
      const child: { app?: ChildProcess } = {};
      let signalled = 0;
      function stopApp(signal: NodeJS.Signals): void {
        // A second Ctrl-C means "now": the app gets SIGKILL.
        signalled++;
        const app = child.app;
        if (app && app.exitCode === null && app.signalCode === null) app.kill(signalled > 1 ? "SIGKILL" : signal);
      }
      const running = parts.sidecar!;
      const proxy = `http://127.0.0.1:${running.ports.outbound}`; // not Node's fetch or node:http: node-preload.ts
      const noProxy = "localhost,127.0.0.1,::1";
      const outbound = `127.0.0.1:${running.ports.outbound}`;
      log.info("sidecar ready; starting the app", { command: command[0], outbound: running.ports.outbound });
      const app = spawn(command[0]!, command.slice(1), {
        stdio: "inherit",
        env: appEnvironment(process.env, {
          HTTP_PROXY: proxy,
          http_proxy: proxy,
          NO_PROXY: noProxy,
          no_proxy: noProxy,
          ...nodeMeshEnvironment(process.env.NODE_OPTIONS, outbound),
          TSMESH_SERVICE: flags.service,
          TSMESH_ADMIN_PORT: String(running.ports.admin),
        }),
      });
      child.app = app;
      process.on("SIGTERM", () => stopApp("SIGTERM"));
      process.on("SIGINT", () => stopApp("SIGINT"));

      let finished = false;
      const finish = async (code: number) => {
        if (finished) return;
        finished = true;
        // The app is gone: deregister (the drain's first step) and close without a drain period.
        const complete = await running.drain(undefined, 0);
        await parts.membership?.stop();
        log.info("app exited; sidecar drained", { exitCode: code, complete });
        process.exit(code);
      };
      app.once("error", (err: NodeJS.ErrnoException) => {
        process.stderr.write(`error: cannot start ${command[0]}: ${err.message}\n`);
        void finish(err.code === "ENOENT" ? 127 : 126);
      });
      app.once("exit", (code, signal) => {
        // Shell convention for a signal death: 128 + signal number.
        void finish(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
      });
    });
}
