// Per-service state that follows its policy: created when the policy sets a spec, reconfigured in
// place on later calls (in-flight counts, ejections carry over), forgotten when the spec goes.
export interface Configurable<S> {
  configure(spec: S): void;
}

export function followSpec<S, T extends Configurable<S>>(
  states: Map<string, T>,
  service: string,
  spec: S | undefined,
  create: (spec: S) => T,
): T | undefined {
  const existing = states.get(service);
  if (spec === undefined) {
    // In-flight work holds its state object directly; forgetting it here is safe.
    if (existing) states.delete(service);
    return undefined;
  }
  if (existing) {
    existing.configure(spec);
    return existing;
  }
  const created = create(spec);
  states.set(service, created);
  return created;
}
