// A small structural diff producing RFC 6902 operations. It is shaped for what injection does —
// insert elements into arrays and keys into maps — so a patch adds containers instead of
// replacing the whole list (the API server applies it to the pod as stored, which is what we
// diffed against). Anything it cannot express as inserts falls back to per-field replace.
import type { JsonPath } from "./workloads.js";
import { isObject } from "./workloads.js";

export type PathOp =
  | { op: "add"; path: JsonPath; value: unknown }
  | { op: "replace"; path: JsonPath; value: unknown }
  | { op: "remove"; path: JsonPath };

export type JsonPatchOp =
  | { op: "add" | "replace"; path: string; value: unknown }
  | { op: "remove"; path: string };

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Indices of `after` that are not matched when `before` is read as a subsequence of it. */
function insertedIndices(before: unknown[], after: unknown[]): number[] | undefined {
  const inserted: number[] = [];
  let i = 0;
  for (let j = 0; j < after.length; j++) {
    if (i < before.length && deepEqual(before[i], after[j])) i++;
    else inserted.push(j);
  }
  return i === before.length ? inserted : undefined;
}

export function diff(before: unknown, after: unknown, path: JsonPath = []): PathOp[] {
  if (deepEqual(before, after)) return [];
  if (isObject(before) && isObject(after)) {
    const ops: PathOp[] = [];
    for (const k of Object.keys(before)) if (!Object.hasOwn(after, k)) ops.push({ op: "remove", path: [...path, k] });
    for (const [k, v] of Object.entries(after)) {
      if (!Object.hasOwn(before, k)) ops.push({ op: "add", path: [...path, k], value: v });
      else ops.push(...diff(before[k], v, [...path, k]));
    }
    return ops;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const inserted = insertedIndices(before, after);
    // Ascending order: when index j is inserted, every final element before j is in place.
    if (inserted) return inserted.map((j) => ({ op: "add", path: [...path, j], value: after[j] }));
    if (before.length === after.length) return before.flatMap((v, i) => diff(v, after[i], [...path, i]));
  }
  return [{ op: "replace", path, value: after }];
}

/** RFC 6901: '~' -> '~0' first, then '/' -> '~1' (annotation keys like tsmesh.dev/injected). */
export function pointer(path: JsonPath): string {
  return path.map((seg) => "/" + String(seg).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

export function toJsonPatch(ops: PathOp[]): JsonPatchOp[] {
  return ops.map((o) => (o.op === "remove" ? { op: o.op, path: pointer(o.path) } : { op: o.op, path: pointer(o.path), value: o.value }));
}
