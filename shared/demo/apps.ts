// The demo's three services as small HTTP servers on 127.0.0.1 (in the demo process; each has its
// own sidecar process in front). frontend -> orders -> inventory; mesh calls go to the caller's
// sidecar outbound listener with an absolute URI, exactly what an app does with HTTP_PROXY. Trace
// headers are copied from the inbound request to the outbound call (the app's one duty, as in
// Istio), and orders reports the traceparent it saw so the demo can print trace ids.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { getJson } from "./get-json.js";

const TRACE_HEADERS = ["traceparent", "tracestate", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled", "b3", "x-request-id"];

/** Counted by the apps themselves: what the callers never saw thanks to the mesh. */
export interface AppStats {
  /** 503s inventory answered on purpose. */
  inventoryFailures: number;
  /** Calls refused by a sidecar's connection limits (x-tsmesh-overflow seen by an app). */
  overflows: number;
}

export const newAppStats = (): AppStats => ({ inventoryFailures: 0, overflows: 0 });

export interface DemoApp {
  name: string;
  port: number;
  close(): Promise<void>;
}

export interface Hop {
  status: number;
  body: Record<string, unknown>;
  /** x-tsmesh-overflow on the answer: a circuit-breaker limit refused the call. */
  overflow?: string;
}

/** GET http://<service><path> through the sidecar's outbound listener; never throws. */
export async function callThroughSidecar(outboundPort: number, service: string, path: string, incoming: http.IncomingHttpHeaders, agent: http.Agent): Promise<Hop> {
  const headers: Record<string, string> = { host: service };
  for (const h of TRACE_HEADERS) if (typeof incoming[h] === "string") headers[h] = incoming[h];
  const answer = await getJson({ port: outboundPort, path: `http://${service}${path}`, headers, agent, timeout: 5000 });
  if ("failure" in answer) return { status: 0, body: { error: answer.failure } };
  const overflow = answer.headers["x-tsmesh-overflow"];
  return {
    status: answer.status,
    body: answer.parsed ? (answer.json as Record<string, unknown>) : { error: answer.text.slice(0, 200) },
    overflow: typeof overflow === "string" ? overflow : undefined,
  };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function listen(name: string, handler: http.RequestListener, agent?: http.Agent): Promise<DemoApp> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    name,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        agent?.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** inventory: answers 503 for `failureRate` of requests (a flaky dependency), else stock data. */
export function startInventory(failureRate: number, stats: AppStats, random: () => number = Math.random): Promise<DemoApp> {
  let served = 0;
  return listen("inventory", (req, res) => {
    served++;
    if (random() < failureRate) {
      stats.inventoryFailures++;
      return reply(res, 503, { error: "inventory temporarily unavailable", served });
    }
    reply(res, 200, { item: "widget", stock: 40 + (served % 7), served });
  });
}

/** orders vN: asks inventory (through its sidecar) and reports its version and the trace id. */
export function startOrders(version: string, outbound: () => number, stats: AppStats): Promise<DemoApp> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return listen(
    `orders-${version}`,
    (req, res) => {
      void callThroughSidecar(outbound(), "inventory", "/stock", req.headers, agent).then((inv) => {
        const traceparent = typeof req.headers.traceparent === "string" ? req.headers.traceparent : undefined;
        if (inv.overflow) stats.overflows++;
        if (inv.status !== 200) return reply(res, 502, { version, error: "inventory failed", inventoryStatus: inv.status, overflow: inv.overflow, traceparent });
        reply(res, 200, { version, inventory: inv.body, traceparent });
      });
    },
    agent,
  );
}

/** frontend: the entry point the traffic driver calls; asks orders through its sidecar. */
export function startFrontend(outbound: () => number, stats: AppStats): Promise<DemoApp> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  return listen(
    "frontend",
    (req, res) => {
      void callThroughSidecar(outbound(), "orders", "/order", req.headers, agent).then((o) => {
        if (o.overflow) stats.overflows++;
        reply(res, o.status === 200 ? 200 : o.status || 502, { page: "checkout", orders: o.body, ordersStatus: o.status, overflow: o.overflow ?? o.body.overflow });
      });
    },
    agent,
  );
}
