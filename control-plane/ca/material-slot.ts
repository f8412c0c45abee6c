// The CA material of one running control plane, shared by its plugins through the plugin
// context: the CA plugin loads it from the CA directory and re-reads it; config push reads it
// (the trust bundle it pushes, the issuer chain that verifies sidecars' client certificates).
// One copy and one reload timer per control plane, so both always agree.
import type { CaMaterial } from "./files.js";

export class CaMaterialSlot {
  private material: CaMaterial | undefined;
  private readonly listeners = new Set<(material: CaMaterial) => void>();

  /** True once the CA plugin has loaded the material. */
  get ready(): boolean {
    return this.material !== undefined;
  }

  current(): CaMaterial {
    if (!this.material) throw new Error("TSMESH_ERR_NO_CA: no CA material (the CA plugin provides it)");
    return this.material;
  }

  /** Called by the CA plugin when it (re)loaded the material. */
  set(material: CaMaterial): void {
    this.material = material;
    for (const listener of this.listeners) listener(material);
  }

  /** Calls `listener` on every later set(); returns the unsubscribe. */
  onChange(listener: (material: CaMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
