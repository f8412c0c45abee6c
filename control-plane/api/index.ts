export { createApiServer, listen, type ApiServerDeps } from "./server.js";
export { AdminAuth, type AuthOptions } from "./auth.js";
export { createApiMetrics, type ApiMetrics } from "./metrics.js";
export { ApiError, type ApiErrorCode } from "./errors.js";
export { MAX_BODY_BYTES } from "./body.js";
