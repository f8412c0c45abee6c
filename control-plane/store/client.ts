// The etcd3 client with short, explicit timeouts: a request must fail fast (-> 503) when etcd is
// down, and recover within about a second when it returns. etcd3's default fault handling (a
// 5 s circuit breaker per host, 3 retries) is switched off: retrying a compare-and-swap whose
// outcome is unknown would turn into a false conflict.
import { Etcd3 } from "etcd3";
import { noop } from "cockatiel";

export interface ClientOptions {
  /** etcd client URLs, e.g. ["http://127.0.0.1:2379"]. */
  endpoints: string[];
  /** Deadline of each unary etcd call; default 2000 ms. */
  callTimeoutMs?: number;
}

export function createEtcdClient(opts: ClientOptions): Etcd3 {
  const timeout = opts.callTimeoutMs ?? 2000;
  return new Etcd3({
    hosts: opts.endpoints,
    dialTimeout: timeout,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
    grpcOptions: {
      // Reconnect quickly once etcd is back (grpc-js defaults back off up to 120 s).
      "grpc.initial_reconnect_backoff_ms": 100,
      "grpc.max_reconnect_backoff_ms": 1000,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
    },
    // watch.ts reconnects its watches itself, so etcd3's watch backoff is unused.
    faultHandling: {
      host: () => noop,
      global: noop,
    },
  });
}
