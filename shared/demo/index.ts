// `tsmesh demo` as a function: embedded etcd + control plane in a temp dir, three services with a
// sidecar process each (frontend -> orders v1/v2 -> inventory), the canary + retry policy applied
// through the REST API, bounded traffic, a summary from what the traffic and the sidecars'
// metrics show, then everything stopped (also on abort: no process is left behind).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { caPlugin } from "../../control-plane/ca/index.js";
import { startControlPlane, type ControlPlane } from "../../control-plane/main.js";
import { pushPlugin } from "../../control-plane/push/index.js";
import { DEFAULT_NAMESPACE } from "../identity.js";
import { createLogger, type Level } from "../log.js";
import { serviceKey } from "../service-key.js";
import { newAppStats, startFrontend, startInventory, startOrders, type DemoApp } from "./apps.js";
import { scrape, sumMetric } from "./metrics.js";
import { createProgress } from "./progress.js";
import { demoResources } from "./resources.js";
import { startReadySidecar, type DemoSidecar } from "./sidecars.js";
import { formatSummary, type DemoFindings } from "./summary.js";
import { driveTraffic } from "./traffic.js";

export interface DemoOptions {
  requests: number;
  durationMs: number;
  concurrency: number;
  canaryPercent: number;
  inventoryFailureRate: number;
  out: NodeJS.WriteStream;
  signal?: AbortSignal;
}

interface Running {
  dir: string;
  cp?: ControlPlane;
  apps: DemoApp[];
  /** Every sidecar process spawned (also failed attempts): all are stopped at the end. */
  sidecars: DemoSidecar[];
}

const step = (out: NodeJS.WriteStream, msg: string) => out.write(`• ${msg}\n`);

async function api(cp: ControlPlane, admin: string, method: string, p: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${cp.apiPort}${p}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

interface DumpSnapshot {
  routes?: Array<{ metadata: { name: string } }>;
  endpoints?: Record<string, Array<{ labels: Record<string, string> }>>;
}

/** True once a sidecar's pushed config has the routes and endpoints the demo needs. */
async function configHas(s: DemoSidecar, route: string, service: string, versions: string[]): Promise<boolean> {
  try {
    const dump = (await (await fetch(`http://127.0.0.1:${s.ports.admin}/config_dump`, { signal: AbortSignal.timeout(2000) })).json()) as { snapshot: DumpSnapshot | null };
    const snap = dump.snapshot;
    if (!snap?.routes?.some((r) => r.metadata.name === route)) return false;
    // The demo's services are in the default namespace; pushed endpoints are keyed "<ns>/<service>".
    const eps = snap.endpoints?.[serviceKey(DEFAULT_NAMESPACE, service)] ?? [];
    return versions.every((v) => eps.some((e) => (v === "*" ? true : e.labels.version === v)));
  } catch {
    return false;
  }
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (signal?.aborted) throw new Error("interrupted");
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops everything that was started, sidecars first (they drain), then apps, control plane, files. */
async function teardown(r: Running): Promise<void> {
  await Promise.all(r.sidecars.map((s) => s.stop(3000)));
  await Promise.all(r.apps.map((a) => a.close()));
  await r.cp?.close().catch(() => undefined);
  rmSync(r.dir, { recursive: true, force: true });
}

/** Kills child processes synchronously (process "exit": no time for a graceful stop). */
export function killLeftovers(r: { sidecars: DemoSidecar[] }): void {
  for (const s of r.sidecars) if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill("SIGKILL");
}

export async function runDemo(opts: DemoOptions): Promise<DemoFindings> {
  const out = opts.out;
  const r: Running = { dir: mkdtempSync(path.join(os.tmpdir(), "tsmesh-demo-")), apps: [], sidecars: [] };
  const onExit = () => killLeftovers(r);
  process.once("exit", onExit);
  try {
    const admin = randomBytes(24).toString("base64url");
    const level = (process.env.TSMESH_LOG_LEVEL as Level | undefined) ?? "error";
    step(out, "starting embedded etcd and the control plane");
    r.cp = await startControlPlane({
      apiPort: 0,
      grpcPort: 0,
      dataDir: r.dir,
      token: admin,
      plugins: [caPlugin(), pushPlugin()],
      log: createLogger("control-plane", { level }),
    });
    const cp = r.cp;
    const controlPlane = `127.0.0.1:${cp.grpcPort}`;
    const caBundle = path.join(r.dir, "certs", "bundle.crt");
    step(out, `control plane up: REST API http://127.0.0.1:${cp.apiPort}, gRPC ${controlPlane}, data in ${r.dir}`);

    const otlpEndpoint = process.env.TSMESH_OTLP_ENDPOINT || undefined;
    for (const res of demoResources({ canaryPercent: opts.canaryPercent, otlpEndpoint })) {
      await api(cp, admin, "PUT", `/api/v1/${res.plural}/${(res.body.metadata as { name: string }).name}`, res.body);
    }
    step(out, `applied: HTTPRoute orders (v1 ${100 - opts.canaryPercent} / v2 ${opts.canaryPercent}, retries), HTTPRoute inventory (retries), DestinationPolicy orders (subsets by version), inventory (limits, outlier detection), MeshConfig (STRICT mTLS, tracing 100%)`);

    // Apps first (ports known), then each app's sidecar; an app reaches its sidecar's outbound
    // listener through a getter because the sidecar is started after it.
    const outboundOf = (name: string) => () => r.sidecars.find((s) => s.name === name)?.ports.outbound ?? 1;
    const stats = newAppStats();
    const inventory = await startInventory(opts.inventoryFailureRate, stats);
    const ordersV1 = await startOrders("v1", outboundOf("orders-v1"), stats);
    const ordersV2 = await startOrders("v2", outboundOf("orders-v2"), stats);
    const frontend = await startFrontend(outboundOf("frontend"), stats);
    r.apps.push(inventory, ordersV1, ordersV2, frontend);

    const specs = [
      { name: "inventory", service: "inventory", app: inventory },
      { name: "orders-v1", service: "orders", app: ordersV1, labels: { version: "v1" } },
      { name: "orders-v2", service: "orders", app: ordersV2, labels: { version: "v2" } },
      { name: "frontend", service: "frontend", app: frontend },
    ];
    step(out, `starting ${specs.length} sidecar processes (tsmesh sidecar --control-plane ... with one-time tokens from POST /api/v1/tokens)`);
    // Every spawned process goes to r.sidecars at once (teardown stops them all); all starts settle
    // before a failure is reported, so none is still starting while the demo shuts down.
    const started = await Promise.allSettled(
      specs.map((s) => {
        const token = async () => (await api(cp, admin, "POST", "/api/v1/tokens", { service: s.service, ttl: "10m" })).token as string;
        const configCache = path.join(r.dir, `${s.name}-config.json`);
        const spec = { name: s.name, service: s.service, appPort: s.app.port, labels: s.labels, controlPlane, caBundle, configCache };
        return startReadySidecar(spec, token, 60_000, (p) => r.sidecars.push(p));
      }),
    );
    const failed = started.find((x) => x.status === "rejected");
    if (failed) throw failed.reason;
    const [inventorySidecar, ...rest] = started.map((x) => (x as PromiseFulfilledResult<DemoSidecar>).value);
    const fe = rest.find((s) => s.name === "frontend")!;
    const orders = rest.filter((s) => s.service === "orders");
    await until("pushed routes and endpoints", async () => {
      const [a, ...b] = await Promise.all([configHas(fe, "orders", "orders", ["v1", "v2"]), ...orders.map((o) => configHas(o, "inventory", "inventory", ["*"]))]);
      return a && b.every(Boolean);
    }, 30_000, opts.signal);
    step(out, "all sidecars ready: certificates from the CA, config pushed, endpoints registered");

    step(out, `driving traffic: up to ${opts.requests} requests or ${(opts.durationMs / 1000).toFixed(0)} s, ${opts.concurrency} at a time, to frontend`);
    const total = opts.requests;
    const progress = createProgress(out, total, opts.durationMs);
    const tally = await driveTraffic({
      port: frontend.port,
      requests: opts.requests,
      durationMs: opts.durationMs,
      concurrency: opts.concurrency,
      onProgress: (t) => progress.update(t),
      signal: opts.signal,
    });
    progress.done();

    const feMetrics = await scrape(fe.ports.admin);
    const orderMetrics = await Promise.all(orders.map((o) => scrape(o.ports.admin)));
    const all = [feMetrics, ...orderMetrics, await scrape(inventorySidecar!.ports.admin)];
    const findings: DemoFindings = {
      tally,
      stats,
      canaryPercent: opts.canaryPercent,
      inventoryFailureRate: opts.inventoryFailureRate,
      retries: {
        frontendToOrders: sumMetric(feMetrics, "tsmesh_retries_total"),
        ordersToInventory: orderMetrics.reduce((n, m) => n + sumMetric(m, "tsmesh_retries_total"), 0),
      },
      outlierEjections: all.reduce((n, m) => n + sumMetric(m, "tsmesh_outlier_ejections_total"), 0),
      jaegerUrl: process.env.TSMESH_JAEGER_URL || undefined,
      otlpEndpoint,
    };
    out.write(formatSummary(findings));
    return findings;
  } finally {
    step(out, "shutting down sidecars, apps, control plane and etcd");
    await teardown(r);
    process.removeListener("exit", onExit);
  }
}
