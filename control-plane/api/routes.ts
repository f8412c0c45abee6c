// The API surface, in one table (ARCHITECTURE.md "Control-plane REST API").
import type { Registry } from "prom-client";
import { healthz, metricsHandler, readyz } from "./handlers/health.js";
import { deleteResource, getResource, listResources, putResource } from "./handlers/resources.js";
import { createToken } from "./handlers/tokens.js";
import { listEndpoints, listServices, listSidecars } from "./handlers/views.js";
import type { RouteDef } from "./router.js";

export function apiRoutes(registry: Registry): RouteDef[] {
  return [
    { pattern: "/healthz", auth: false, methods: { GET: healthz } },
    { pattern: "/readyz", auth: false, methods: { GET: readyz } },
    { pattern: "/metrics", auth: false, methods: { GET: metricsHandler(registry) } },
    { pattern: "/api/v1/tokens", auth: true, methods: { POST: createToken } },
    { pattern: "/api/v1/services", auth: true, methods: { GET: listServices } },
    { pattern: "/api/v1/endpoints", auth: true, methods: { GET: listEndpoints } },
    { pattern: "/api/v1/sidecars", auth: true, methods: { GET: listSidecars } },
    { pattern: "/api/v1/:plural", auth: true, methods: { GET: listResources } },
    { pattern: "/api/v1/:plural/:name", auth: true, methods: { GET: getResource, PUT: putResource, DELETE: deleteResource } },
  ];
}
