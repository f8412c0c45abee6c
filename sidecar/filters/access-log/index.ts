export { createAccessLog, type AccessLog, type AccessLogLine, type AccessLogOptions } from "./layer.js";
export { redactPath } from "./redact-path.js";
