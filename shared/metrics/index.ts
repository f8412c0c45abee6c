export * from "./names.js";
export * from "./factory.js";
