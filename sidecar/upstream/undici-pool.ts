// undici's Pool without undici's index: `import { Pool } from "undici"` also loads fetch,
// WebSocket, EventSource, cache, mock agents... (~50 modules, ~4.7 MB of RSS per sidecar,
// measured) that the sidecar never uses. undici 6 has no "exports" map, so its modules are
// reachable by path; the version is pinned by package-lock, and the types are undici's.
import { createRequire } from "node:module";
import type { Pool as UndiciPool } from "undici";

const require = createRequire(import.meta.url);

export const Pool = require("undici/lib/dispatcher/pool.js") as typeof UndiciPool;
export type Pool = UndiciPool;

// What undici's index does on load: request/stream/pipeline/connect/upgrade on every dispatcher.
const Dispatcher = require("undici/lib/dispatcher/dispatcher.js") as { prototype: object };
const api = require("undici/lib/api/index.js") as object;
if (!("request" in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);
