// Active request counts per endpoint address, for least-request balancing. Shared by all pickers
// so counts survive picker rebuilds on config changes.
export class LoadTracker {
  private readonly active = new Map<string, number>();

  start(address: string): void {
    this.active.set(address, (this.active.get(address) ?? 0) + 1);
  }

  end(address: string): void {
    const n = (this.active.get(address) ?? 0) - 1;
    if (n > 0) this.active.set(address, n);
    else this.active.delete(address);
  }

  activeRequests(address: string): number {
    return this.active.get(address) ?? 0;
  }
}
