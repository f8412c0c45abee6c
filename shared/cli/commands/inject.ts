// `tsmesh inject -f FILE` (or `-f -` for stdin): prints the manifests with the mesh sidecar
// injected into every pod template; notes about skipped workloads go to stderr.
import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { CA_BUNDLE_CONFIGMAP, CA_BUNDLE_FILE, InjectError, type InjectOptions, injectYaml, type WorkloadResult } from "../../inject/index.js";

async function readInput(file: string): Promise<string> {
  if (file !== "-") return readFile(file, "utf8");
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Injected pods mount the namespace's trust-bundle ConfigMap; without it they stay in
 * ContainerCreating. One line per namespace the meshed workloads land in.
 */
function caBundleNotes(workloads: WorkloadResult[]): string[] {
  const meshed = workloads.filter((w) => w.status !== "skipped");
  const namespaces = [...new Set(meshed.map((w) => w.namespace))];
  return namespaces.map((ns) => {
    const where = ns ? `namespace ${ns}` : "the namespace these manifests are applied to";
    const flag = ns ? `-n ${ns} ` : "";
    return `warning: injected pods mount ConfigMap ${CA_BUNDLE_CONFIGMAP} (key ${CA_BUNDLE_FILE}): create it in ${where} first: kubectl ${flag}create configmap ${CA_BUNDLE_CONFIGMAP} --from-file=${CA_BUNDLE_FILE}=<trust bundle PEM>\n`;
  });
}

interface InjectFlags {
  file: string;
  controlPlane?: string;
  image?: string;
  proxyUid?: string;
  sidecarMode?: string;
}

export function register(program: Command): void {
  program
    .command("inject")
    .description("add the tsmesh sidecar to every pod template of Kubernetes manifests and print them")
    .requiredOption("-f, --file <file>", "YAML manifests, multi-document; '-' reads stdin")
    .option("--control-plane <host:port>", "control plane gRPC address as seen from pods")
    .option("--image <image>", "tsmesh image for the proxy and init containers")
    .option("--proxy-uid <uid>", "UID the proxy runs as (its traffic is not redirected)")
    .option("--sidecar-mode <mode>", "native (init container, Kubernetes >= 1.29) or container (older clusters)")
    .action(async (flags: InjectFlags) => {
      try {
        const text = await readInput(flags.file);
        const proxyUid = flags.proxyUid === undefined ? undefined : Number(flags.proxyUid);
        const sidecarMode = flags.sidecarMode as InjectOptions["sidecarMode"] | undefined;
        const result = injectYaml(text, { controlPlane: flags.controlPlane, image: flags.image, proxyUid, sidecarMode });
        for (const w of result.workloads) {
          const what = `${w.kind}/${w.name || "(unnamed)"}`;
          for (const msg of w.warnings) process.stderr.write(`warning: ${what}: ${msg}\n`);
          if (w.status === "skipped" && !w.warnings.some((m) => m.includes(w.reason ?? ""))) {
            process.stderr.write(`skipped: ${what}: ${w.reason}\n`);
          }
        }
        for (const note of caBundleNotes(result.workloads)) process.stderr.write(note);
        process.stdout.write(result.yaml);
      } catch (err) {
        const prefix = err instanceof InjectError ? `${err.code}: ` : "";
        process.stderr.write(`error: ${prefix}${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
