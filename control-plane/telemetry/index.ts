export * from "./tracing.js";
export { createControlPlaneMetrics, type ControlPlaneMetrics } from "../../shared/metrics/factory.js";
