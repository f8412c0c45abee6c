// Structured JSON access log: one line per request when its response body is finished with.
// Lines go to stdout (diagnostic logs go to stderr) so they can be collected apart. 5xx and
// failed requests log at warn, others at info: logLevel "warn" keeps only the failures.
import { pipeline, Transform } from "node:stream";
import type { Direction } from "../../../shared/metrics/names.js";
import type { MeshConfigSpec } from "../../../shared/schema/mesh-config.js";
import { createLogger, type Level, type Logger } from "../../../shared/log.js";
import type { Handler, MeshRequest, MeshResponse, Middleware, RequestContext } from "../../core/handler.js";
import { codeOfError, onBodyEnd, statusOfError } from "../../telemetry/response-end.js";
import { traceIdOf } from "../tracing/context.js";
import { redactPath } from "./redact-path.js";

export interface AccessLogLine {
  direction: Direction;
  traceId?: string;
  requestId: string;
  method: string;
  authority: string;
  path: string;
  route?: string;
  /** Address of the endpoint the last attempt went to. */
  upstream?: string;
  status: number;
  durationMs: number;
  retries: number;
  bytesReceived?: number;
  bytesSent?: number;
  /** Inbound: the caller's verified SPIFFE ID; outbound: the SPIFFE ID the upstream must present. */
  peerIdentity?: string;
  /** TSMESH_ERR_* or errno code when the request failed or its body was cut short. */
  error?: string;
  /** Other layers' flags (fault injected, overflow ...). */
  flags?: Record<string, string | number | boolean>;
}

export interface AccessLog {
  layer(direction: Direction): Middleware;
  /** Dynamic settings from a MeshConfig push. */
  configure(mc: Partial<Pick<MeshConfigSpec, "accessLog" | "logLevel">>): void;
  enabled(): boolean;
}

export interface AccessLogOptions {
  service: string;
  meshConfig?: Partial<Pick<MeshConfigSpec, "accessLog" | "logLevel">>;
  /** Line sink; stdout by default. */
  write?: (line: string) => void;
}

function contentLength(h: MeshResponse["headers"] | MeshRequest["headers"]): number | undefined {
  const v = h["content-length"];
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function requestBytes(req: MeshRequest): number | undefined {
  if (req.body.kind === "empty") return 0;
  if (req.body.kind === "buffered") return req.body.data.length;
  return req.body.length ?? contentLength(req.headers);
}

/** Body with a byte counter in front, for responses that do not announce their length. */
function counted(res: MeshResponse, onBytes: (n: number) => void): MeshResponse {
  if (!res.body) return res;
  if (Buffer.isBuffer(res.body)) {
    onBytes(res.body.length);
    return res;
  }
  let n = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      n += chunk.length;
      onBytes(n);
      cb(null, chunk);
    },
  });
  pipeline(res.body, counter, () => undefined);
  return { ...res, body: counter };
}

export function createAccessLog(opts: AccessLogOptions): AccessLog {
  const logger: Logger = createLogger("access", {
    level: opts.meshConfig?.logLevel ?? "info",
    write: opts.write ?? ((l) => process.stdout.write(l)),
  }).child({ service: opts.service });
  // Off unless MeshConfig turns it on (Istio's and Linkerd's default): a line per request costs
  // CPU on the hot path that most meshes do not want to pay.
  let on = opts.meshConfig?.accessLog?.enabled ?? false;
  // Mirrors the logger's level so lines it would drop are never built (logLevel warn: errors only).
  const showsInfo = (level: Level) => level === "debug" || level === "info";
  let infoOn = showsInfo(opts.meshConfig?.logLevel ?? "info");

  const emit = (level: Level, line: AccessLogLine) => {
    logger[level]("request", line as unknown as Record<string, unknown>);
  };

  const base = (direction: Direction, req: MeshRequest, ctx: RequestContext, status: number): AccessLogLine => {
    const { retries, ...rest } = ctx.annotations;
    const line: AccessLogLine = {
      direction,
      traceId: traceIdOf(ctx),
      requestId: ctx.requestId,
      method: req.method,
      authority: req.authority,
      path: redactPath(req.path),
      route: ctx.route,
      upstream: ctx.endpoint?.address,
      status,
      durationMs: Math.round(Number(process.hrtime.bigint() - ctx.startedAt) / 1e3) / 1e3,
      retries: typeof retries === "number" ? retries : 0,
      bytesReceived: requestBytes(req),
      peerIdentity: direction === "inbound" ? ctx.peerIdentity : ctx.endpoint?.identity,
    };
    if (Object.keys(rest).length > 0) line.flags = rest;
    return line;
  };

  return {
    enabled: () => on,
    configure(mc) {
      if (mc.accessLog) on = mc.accessLog.enabled;
      if (mc.logLevel) {
        logger.setLevel(mc.logLevel);
        infoOn = showsInfo(mc.logLevel);
      }
    },
    layer: (direction) => (next) => {
      const logged = (req: MeshRequest, ctx: RequestContext) => log(direction, next, req, ctx);
      // Not async itself: when off, the request costs one flag check and no extra promise.
      return (req, ctx) => (on ? logged(req, ctx) : next(req, ctx));
    },
  };

  async function log(direction: Direction, next: Handler, req: MeshRequest, ctx: RequestContext): Promise<MeshResponse> {
    let res: MeshResponse;
    try {
      res = await next(req, ctx);
    } catch (err) {
      emit("warn", { ...base(direction, req, ctx, statusOfError(err)), bytesSent: 0, error: codeOfError(err) });
      throw err;
    }
    const failed = res.status >= 500;
    let sent = contentLength(res.headers);
    // Counting bytes costs a stream hop: only when a success line would be written at all.
    const out = sent === undefined && (infoOn || failed) ? counted(res, (n) => (sent = n)) : res;
    onBodyEnd(out, (err) => {
      if (!failed && !err && !infoOn) return;
      const line = { ...base(direction, req, ctx, res.status), bytesSent: sent ?? 0 };
      if (err) line.error = codeOfError(err);
      emit(failed || err ? "warn" : "info", line);
    });
    return out;
  }
}
