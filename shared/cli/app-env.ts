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
