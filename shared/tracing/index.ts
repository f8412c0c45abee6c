export * from "./propagation.js";
export * from "./provider.js";
export { MutableRatioSampler, checkRatio } from "./ratio-sampler.js";
