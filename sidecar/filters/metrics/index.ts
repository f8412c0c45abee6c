export { metricsLayer, peerService, type MetricsLayerOptions } from "./layer.js";
