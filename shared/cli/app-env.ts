import { existsSync } from "node:fs";
// The environment `tsmesh run` gives the app: the caller's, minus the mesh credentials, plus
// where the sidecar listens. The admin token mints bootstrap tokens for any service (so any
// identity), and a bootstrap token buys a certificate: the app must hold neither.
/** Mesh credentials by name: TSMESH_TOKEN, TSMESH_BOOTSTRAP_TOKEN, TSMESH_BOOTSTRAP_TOKEN_FILE and any TSMESH_*_TOKEN[_FILE]. */
export const isMeshCredential = (name: string): boolean => /^TSMESH_(?:\w+_)?TOKEN(?:_FILE)?$/i.test(name);

export function appEnvironment(parent: NodeJS.ProcessEnv, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) if (!isMeshCredential(name)) env[name] = value;
  return { ...env, ...extra };
}

// Beside this module in dist/; absent when the CLI runs from source, and then not preloaded.
const NODE_PRELOAD = new URL("./node-preload.js", import.meta.url);

/**
 * NODE_OPTIONS with the preload that meshes Node's fetch and node:http (they ignore HTTP_PROXY),
 * after any options the caller has, and TSMESH_OUTBOUND for it to read. Other apps ignore both.
 */
export function nodeMeshEnvironment(nodeOptions: string | undefined, outbound: string, preload: URL = NODE_PRELOAD): Record<string, string> {
  if (!existsSync(preload)) return {};
  const imports = `--import ${preload.href}`; // a file URL: spaces are %20, no quoting needed
  return { NODE_OPTIONS: nodeOptions?.trim() ? `${nodeOptions.trim()} ${imports}` : imports, TSMESH_OUTBOUND: outbound };
}
