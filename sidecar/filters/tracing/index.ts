export { inboundTracingLayer, type InboundTracingOptions } from "./inbound.js";
export { outboundRequestTracingLayer, outboundTracingLayer, type OutboundTracingOptions } from "./outbound.js";
export { traceIdOf, spanContextOf } from "./context.js";
export { ATTR_TSMESH_PEER_IDENTITY, ATTR_TSMESH_RETRIES, ATTR_TSMESH_RETRY_ATTEMPT, ATTR_TSMESH_ROUTE } from "./attributes.js";
