export * from "./constants.js";
export * from "./options.js";
export * from "./workloads.js";
export * from "./containers.js";
export * from "./pod.js";
export * from "./probes.js";
export * from "./json-patch.js";
export * from "./yaml.js";
