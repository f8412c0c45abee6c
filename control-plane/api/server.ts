// The REST server. One request, top to bottom: match a route -> check the bearer token -> check
// the method -> run the handler -> map errors to {error, code[, field]} -> count and time it.
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../../shared/log.js";
import { kindOfPlural } from "../../shared/schema/kinds.js";
import type { ControlPlaneTracing } from "../telemetry/tracing.js";
import { ConflictError, StoreUnavailableError, type Store } from "../store/index.js";
import type { AdminAuth } from "./auth.js";
import { ApiError } from "./errors.js";
import type { ApiMetrics } from "./metrics.js";
import { matchRoute, type ApiResult, type RouteDef } from "./router.js";
import { apiRoutes } from "./routes.js";

export interface ApiServerDeps {
  store: Store;
  auth: AdminAuth;
  metrics: ApiMetrics;
  log: Logger;
  /** Spans for writes (PUT, DELETE, POST); a no-op without an OTLP endpoint. */
  tracing?: Pick<ControlPlaneTracing, "traceApiWrite">;
}

const WRITES = new Set(["PUT", "DELETE", "POST"]);

function toApiError(err: unknown, log: Logger): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof StoreUnavailableError) return new ApiError(503, "TSMESH_ERR_STORE_UNAVAILABLE", "etcd is unreachable; retry later", undefined, { "retry-after": "1" });
  if (err instanceof ConflictError) return new ApiError(409, "TSMESH_ERR_CONFLICT", err.message);
  log.error("unhandled API error", { err: err instanceof Error ? err : new Error(String(err)) });
  return new ApiError(500, "TSMESH_ERR_INTERNAL", "internal error");
}

function send(res: ServerResponse, result: ApiResult): void {
  const text = result.text ?? JSON.stringify(result.body ?? {}) + "\n";
  res.writeHead(result.status, {
    "content-type": result.contentType ?? "application/json",
    "content-length": Buffer.byteLength(text),
    ...result.headers,
  });
  res.end(text);
}

type Matched = ReturnType<typeof matchRoute>;

async function dispatch(matched: Matched, deps: ApiServerDeps, req: IncomingMessage, url: URL): Promise<ApiResult> {
  // Everything under /api asks for the token first, so nothing there is probed anonymously.
  if (matched?.route.auth || url.pathname.startsWith("/api/")) await deps.auth.check(req.headers.authorization);
  if (!matched) throw new ApiError(404, "TSMESH_ERR_NOT_FOUND", `no such path ${url.pathname}`);
  const { route, params } = matched;
  const handler = route.methods[req.method as keyof RouteDef["methods"]];
  if (!handler) {
    const allow = Object.keys(route.methods).join(", ");
    throw new ApiError(405, "TSMESH_ERR_METHOD_NOT_ALLOWED", `${req.method} not allowed; use ${allow}`, undefined, { allow });
  }
  const run = () => handler({ req, url, params, store: deps.store });
  if (!deps.tracing || !WRITES.has(req.method ?? "")) return run();
  // Errors become results inside the span, so it carries the status code the client gets.
  return deps.tracing.traceApiWrite(
    { method: req.method!, route: route.pattern.replace(/:(\w+)/g, "{$1}"), kind: kindOfPlural(params.plural), name: params.name, headers: req.headers },
    () => run().catch((err: unknown) => errorResult(toApiError(err, deps.log))),
  );
}

function errorResult(e: ApiError): ApiResult {
  return { status: e.status, body: e.toJSON(), headers: e.headers };
}

export function createApiServer(deps: ApiServerDeps): http.Server {
  const routes = apiRoutes(deps.metrics.registry);
  // Bounded request times: a slow or stalled client cannot hold a body read open for minutes.
  return http.createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (req, res) => {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? "/", "http://api.invalid");
    const matched = matchRoute(routes, url.pathname);
    const pattern = matched?.route.pattern ?? "unmatched";
    dispatch(matched, deps, req, url)
      .catch((err: unknown) => errorResult(toApiError(err, deps.log)))
      .then((result) => {
        send(res, result);
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        deps.metrics.requests.inc({ method: req.method ?? "", route: pattern, code: String(result.status) });
        deps.metrics.duration.observe({ method: req.method ?? "", route: pattern }, seconds);
      })
      .catch((err: unknown) => {
        deps.log.error("failed to send API response", { err: err as Error });
        res.destroy();
      });
  });
}

export async function listen(server: http.Server, port: number, host = "127.0.0.1"): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}
