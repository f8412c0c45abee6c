// `--control-plane host:port[,host:port]` -> the list the client rotates through.
export function parseControlPlanes(value: string): string[] {
  const list = value.split(",").map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error("TSMESH_ERR_BAD_FLAG: --control-plane needs at least one host:port");
  for (const a of list) {
    const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(a);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new Error(`TSMESH_ERR_BAD_FLAG: --control-plane "${a}" is not host:port`);
  }
  return list;
}
