// The outbound stack, read top to bottom as the request travels (linkerd2-proxy style):
//   observability -> strip xfcc -> route (logical) -> [host outside the mesh: egress, plaintext
//   to that host] -> fault -> timeout -> split (concrete) -> circuit breaker -> retry
//   -> [per attempt] span -> balancer (endpoint) -> outlier -> pooled mTLS client.
import type { DestinationPolicySpec } from "../../shared/schema/destination-policy.js";
import { compose, type Handler, type Middleware } from "../core/handler.js";
import type { CircuitBreakers } from "../filters/circuit-breaker/breakers.js";
import { circuitBreakerLayer } from "../filters/circuit-breaker/layer.js";
import { faultLayer } from "../filters/fault/layer.js";
import { retryLayer } from "../filters/retry/layer.js";
import type { RetryBudgets } from "../filters/retry/budget.js";
import { routeLayer } from "../filters/route/layer.js";
import type { RouteTable } from "../filters/route/table.js";
import { splitLayer } from "../filters/split/layer.js";
import { timeoutLayer } from "../filters/timeout/layer.js";
import { balancerLayer } from "../upstream/balancer/layer.js";
import type { LoadTracker } from "../upstream/balancer/load.js";
import type { PickerCache } from "../upstream/balancer/pickers.js";
import { upstreamClient } from "../upstream/client.js";
import { outlierLayer } from "../upstream/outlier/layer.js";
import type { OutlierDetectors } from "../upstream/outlier/detectors.js";
import type { EndpointPools } from "../upstream/pools.js";
import { egressLayer, type EgressDeps } from "./egress.js";
import { stripClientCertLayer } from "./xfcc-strip.js";

export interface OutboundStackDeps {
  routeTable: () => RouteTable;
  policyOf: (service: string) => DestinationPolicySpec | undefined;
  breakers: CircuitBreakers;
  budgets: RetryBudgets;
  pickers: PickerCache;
  load: LoadTracker;
  detectors: OutlierDetectors;
  pools: EndpointPools;
  egress: EgressDeps;
  /** Observability layers on top (access log, metrics, request span). */
  observe?: Middleware[];
  /** Per-attempt observability (CLIENT span), just under the retry layer. */
  observeAttempt?: Middleware;
}

export function buildOutboundStack(d: OutboundStackDeps): Handler {
  const layers: Middleware[] = [
    ...(d.observe ?? []),
    stripClientCertLayer(),
    routeLayer(d.routeTable),
    egressLayer(d.egress),
    faultLayer(),
    timeoutLayer(),
    splitLayer(d.policyOf),
    circuitBreakerLayer(d.breakers),
    retryLayer({ budgets: d.budgets, acquireRetry: d.breakers.acquireRetry }),
    ...(d.observeAttempt ? [d.observeAttempt] : []),
    balancerLayer(d.pickers, d.load),
    outlierLayer(d.detectors),
  ];
  return compose(...layers)(upstreamClient(d.pools));
}
