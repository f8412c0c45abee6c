// OTLP/HTTP trace receiver for tests: listens on 127.0.0.1 (port 0), decodes
// ExportTraceServiceRequest protobuf bodies with the official OpenTelemetry .proto files
// (shipped by the otlp-proto-files dev dependency, an alias of
// @opentelemetry/otlp-grpc-exporter-base@0.38 which still packaged them) and keeps the spans.
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { gunzipSync } from "node:zlib";
import { loadSync } from "@grpc/proto-loader";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** SPAN_KIND_SERVER, SPAN_KIND_CLIENT, ... */
  kind: string;
  /** Resource service.name of the exporting process. */
  service: string;
  resource: Record<string, AttrValue>;
  attributes: Record<string, AttrValue>;
  /** STATUS_CODE_UNSET | STATUS_CODE_OK | STATUS_CODE_ERROR */
  status: string;
  startNs: bigint;
  endNs: bigint;
}

export type AttrValue = string | number | boolean | undefined;

export interface OtlpReceiver {
  /** Full traces URL, e.g. http://127.0.0.1:43127/v1/traces */
  url: string;
  spans: ReceivedSpan[];
  /** Export requests received (each may hold many spans). */
  requests: number;
  /** Resolves once `pred(spans)` holds; rejects after timeoutMs. */
  waitFor(pred: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

interface AnyValue {
  value?: string;
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface DecodedSpan {
  traceId: Buffer;
  spanId: Buffer;
  parentSpanId: Buffer;
  name: string;
  kind: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  status?: { code: string };
}
interface DecodedRequest {
  resourceSpans: {
    resource?: { attributes: KeyValue[] };
    scopeSpans?: { spans: DecodedSpan[] }[];
    instrumentationLibrarySpans?: { spans: DecodedSpan[] }[];
  }[];
}

type Deserialize = (buf: Buffer) => DecodedRequest;

let deserialize: Deserialize | undefined;
function decoder(): Deserialize {
  if (deserialize) return deserialize;
  const require = createRequire(import.meta.url);
  const protos = join(dirname(require.resolve("otlp-proto-files/package.json")), "build", "protos");
  const def = loadSync("opentelemetry/proto/collector/trace/v1/trace_service.proto", {
    includeDirs: [protos],
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const svc = def["opentelemetry.proto.collector.trace.v1.TraceService"] as unknown as {
    Export: { requestDeserialize: Deserialize };
  };
  deserialize = svc.Export.requestDeserialize;
  return deserialize;
}

function attrs(kvs: KeyValue[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value;
    if (!v) continue;
    switch (v.value) {
      case "stringValue":
        out[kv.key] = v.stringValue;
        break;
      case "boolValue":
        out[kv.key] = v.boolValue;
        break;
      case "intValue":
        out[kv.key] = Number(v.intValue);
        break;
      case "doubleValue":
        out[kv.key] = v.doubleValue;
        break;
      default:
        out[kv.key] = undefined;
    }
  }
  return out;
}

/** Decode one OTLP/HTTP protobuf body into flat spans. */
export function decodeTraces(body: Buffer): ReceivedSpan[] {
  const req = decoder()(body);
  const out: ReceivedSpan[] = [];
  for (const rs of req.resourceSpans) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of [...(rs.scopeSpans ?? []), ...(rs.instrumentationLibrarySpans ?? [])]) {
      for (const s of ss.spans) {
        out.push({
          traceId: s.traceId.toString("hex"),
          spanId: s.spanId.toString("hex"),
          parentSpanId: s.parentSpanId.toString("hex"),
          name: s.name,
          kind: s.kind,
          service: String(resource["service.name"] ?? ""),
          resource,
          attributes: attrs(s.attributes),
          status: s.status?.code ?? "STATUS_CODE_UNSET",
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
        });
      }
    }
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const raw = Buffer.concat(chunks);
  return req.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  let requests = 0;
  const server = createServer((req, res) => {
    if (req.method !== "POST" || req.url !== "/v1/traces") {
      res.writeHead(404).end();
      return;
    }
    readBody(req)
      .then((body) => {
        if (!String(req.headers["content-type"]).startsWith("application/x-protobuf")) {
          throw new Error(`unexpected content-type ${req.headers["content-type"]}`);
        }
        spans.push(...decodeTraces(body));
        requests++;
        for (const w of waiters) w();
        // An empty ExportTraceServiceResponse encodes to zero bytes.
        res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
      })
      .catch((err: Error) => {
        res.writeHead(400, { "content-type": "text/plain" }).end(err.message);
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    get requests() {
      return requests;
    },
    waitFor(pred, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred(spans)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve(spans);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`OTLP receiver: condition not met within ${timeoutMs} ms (${spans.length} spans)`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
