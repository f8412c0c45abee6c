export * from "./common.js";
export * from "./kinds.js";
export * from "./validate.js";
export * from "./http-route.js";
export * from "./destination-policy.js";
export * from "./authorization-policy.js";
export * from "./mesh-config.js";
