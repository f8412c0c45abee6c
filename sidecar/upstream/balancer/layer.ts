// Balancer layer (inside retries: runs once per attempt): picks the endpoint for ctx.concrete,
// avoiding ctx.failedEndpoints, sets ctx.endpoint and ctx.endpointCount, and counts the attempt
// as active on that endpoint until its response is finished.
import { invoke, MeshError, type Middleware } from "../../core/handler.js";
import { parseConcrete } from "../../filters/split/pick.js";
import type { LoadTracker } from "./load.js";
import type { PickerCache } from "./pickers.js";
import { releaseWhenDone } from "./response-done.js";

export function balancerLayer(pickers: PickerCache, load: LoadTracker): Middleware {
  return (next) => async (req, ctx) => {
    const concrete = ctx.concrete ?? ctx.logical;
    if (!concrete) throw new MeshError(500, "TSMESH_ERR_NO_BACKEND", "no destination chosen before load balancing");
    const { service, subset } = parseConcrete(concrete);
    const picker = pickers.get(service, subset, ctx.destination);
    const endpoint = picker.pick(ctx.failedEndpoints);
    if (!endpoint) {
      const undefinedSubset = subset !== undefined && !ctx.destination?.subsets?.some((s) => s.name === subset);
      const why = undefinedSubset ? `subset "${subset}" of "${service}" is not defined by a DestinationPolicy` : `no endpoint of mesh service "${concrete}" is available right now (none registered, or all ejected); the request was not sent`;
      throw new MeshError(503, "TSMESH_ERR_NO_ENDPOINTS", why);
    }
    ctx.endpoint = endpoint;
    ctx.endpointCount = picker.endpoints.length;
    load.start(endpoint.address);
    return releaseWhenDone(invoke(next, req, ctx), () => load.end(endpoint.address));
  };
}
