// gRPC test app (grpc-js, h2c) for test/harness/echo.proto, and a client factory whose calls go
// through a sidecar's outbound listener with :authority set to the destination service.
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO = fileURLToPath(new URL("./echo.proto", import.meta.url).href.replace("/dist/", "/"));

export interface EchoReplyMsg {
  message: string;
  peer: string;
  index: number;
}

type EchoClient = grpc.Client & {
  Say(req: { message: string }, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: EchoReplyMsg) => void): void;
  Count(req: { n: number; intervalMs: number }, md?: grpc.Metadata): grpc.ClientReadableStream<EchoReplyMsg>;
};

function load(): grpc.GrpcObject {
  const def = protoLoader.loadSync(PROTO, { keepCase: false, defaults: true });
  return grpc.loadPackageDefinition(def);
}

function ctor(): grpc.ServiceClientConstructor {
  const pkg = load() as unknown as { tsmesh: { test: { Echo: grpc.ServiceClientConstructor } } };
  return pkg.tsmesh.test.Echo;
}

export interface GrpcEchoOptions {
  /** The first n Say calls answer UNAVAILABLE (a trailers-only response). */
  unavailableFirst?: number;
}

export async function startGrpcEcho(options: GrpcEchoOptions = {}): Promise<{ port: number; calls: () => number; close: () => Promise<void> }> {
  const Echo = ctor();
  const server = new grpc.Server();
  let calls = 0;
  server.addService(Echo.service, {
    Say: (call: grpc.ServerUnaryCall<{ message: string }, EchoReplyMsg>, cb: grpc.sendUnaryData<EchoReplyMsg>) => {
      calls++;
      if (calls <= (options.unavailableFirst ?? 0)) {
        cb({ code: grpc.status.UNAVAILABLE, details: "not ready yet" });
        return;
      }
      if (call.request.message === "fail") {
        cb({ code: grpc.status.FAILED_PRECONDITION, details: "asked to fail" });
        return;
      }
      const xfcc = call.metadata.get("x-forwarded-client-cert")[0];
      cb(null, { message: `echo: ${call.request.message}`, peer: String(xfcc ?? ""), index: 0 });
    },
    Count: (call: grpc.ServerWritableStream<{ n: number; intervalMs: number }, EchoReplyMsg>) => {
      let i = 0;
      const tick = () => {
        if (i >= call.request.n || call.cancelled) {
          call.end();
          return;
        }
        call.write({ message: `item ${i}`, peer: "", index: i });
        i++;
        setTimeout(tick, call.request.intervalMs);
      };
      tick();
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return { port, calls: () => calls, close: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** A client that talks plaintext h2 to `proxyPort` with `:authority` = `service`. */
export function echoClientVia(proxyPort: number, service: string): EchoClient {
  const Echo = ctor();
  return new Echo(`127.0.0.1:${proxyPort}`, grpc.credentials.createInsecure(), { "grpc.default_authority": service }) as unknown as EchoClient;
}

/**
 * A client that dials `target` ("greeter:50051") by name, as an app under `tsmesh run` does: the
 * environment's proxy variable (`grpc_proxy` or `http_proxy`, both read by grpc-js when the channel
 * is made) names `proxyUrl`, so grpc-js opens a CONNECT tunnel through it.
 */
export function echoClientByName(target: string, proxyUrl: string, variable: "grpc_proxy" | "http_proxy" = "grpc_proxy"): EchoClient {
  const Echo = ctor();
  const names = ["grpc_proxy", "https_proxy", "http_proxy", "no_proxy", "no_grpc_proxy"] as const;
  const saved = names.map((n) => [n, process.env[n]] as const);
  for (const n of names) delete process.env[n];
  process.env[variable] = proxyUrl;
  try {
    return new Echo(target, grpc.credentials.createInsecure()) as unknown as EchoClient;
  } finally {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  }
}

export function say(client: EchoClient, message: string, deadlineMs = 5000): Promise<EchoReplyMsg> {
  return new Promise((resolve, reject) =>
    client.Say({ message }, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => (err ? reject(err) : resolve(res!))),
  );
}

export { grpc };
