// The etcd3 client with short, explicit timeouts: a request must fail fast (-> 503) when etcd is
// down, and recover within about a second when it returns. etcd3's default fault handling (a
// 5 s circuit breaker per host, 3 retries) is replaced: retrying a compare-and-swap whose
// outcome is unknown would turn into a false conflict, so nothing is retried here. With several
// members, a member that failed a call is skipped for a second (a breaker per host that opens on
// one failure): etcd3 picks a member at random per call and does not fail over, so without it a
// dead member would keep failing a share of every call (keepalives included) until it returns.
import { Etcd3 } from "etcd3";
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop } from "cockatiel";
import type { EtcdClientTls } from "./etcd-certs.js";
import { isUnavailable } from "./errors.js";

const MEMBER_SKIP_MS = 1000;

export interface ClientOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** Deadline of each unary etcd call; default 2000 ms. */
  callTimeoutMs?: number;
  /** TLS towards etcd: CA (default: system roots) and client certificate. */
  tls?: EtcdClientTls;
}

const pem = (text: string | undefined) => (text === undefined ? undefined : Buffer.from(text));

export function createEtcdClient(opts: ClientOptions): Etcd3 {
  const timeout = opts.callTimeoutMs ?? 2000;
  const tls = opts.tls;
  return new Etcd3({
    hosts: opts.endpoints,
    // etcd3 types the root certificate as required; grpc-js takes null for the system roots.
    credentials: tls && { rootCertificate: pem(tls.caPem) as Buffer, certChain: pem(tls.certPem), privateKey: pem(tls.keyPem) },
    dialTimeout: timeout,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    grpcOptions: {
      // Reconnect quickly once etcd is back (grpc-js defaults back off up to 120 s).
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      ...(tls?.serverName ? { "grpc.ssl_target_name_override": tls.serverName } : {}),
    },
    // watch.ts reconnects its watches itself, so etcd3's watch backoff is unused.
    faultHandling: {
      host: () =>
        opts.endpoints.length > 1 ? circuitBreaker(handleWhen(isUnavailable), { halfOpenAfter: MEMBER_SKIP_MS, breaker: new ConsecutiveBreaker(1) }) : noop,
      global: noop,
    },
  });
}
