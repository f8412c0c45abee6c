// Where a Kubernetes object keeps its pod template(s). Kinds are matched together with their API
// group so that a custom resource that happens to be called "Deployment" is left alone.
export type JsonPath = (string | number)[];

type Obj = Record<string, unknown>;

const TEMPLATE_AT: Record<string, { groups: string[]; path: JsonPath }> = {
  Pod: { groups: [""], path: [] },
  ReplicationController: { groups: [""], path: ["spec", "template"] },
  Deployment: { groups: ["apps", "extensions"], path: ["spec", "template"] },
  StatefulSet: { groups: ["apps"], path: ["spec", "template"] },
  DaemonSet: { groups: ["apps", "extensions"], path: ["spec", "template"] },
  ReplicaSet: { groups: ["apps", "extensions"], path: ["spec", "template"] },
  Job: { groups: ["batch"], path: ["spec", "template"] },
  CronJob: { groups: ["batch"], path: ["spec", "jobTemplate", "spec", "template"] },
};

export interface PodTemplateSite {
  /** Path from the document root to the pod template ({metadata, spec}); [] for a Pod. */
  path: JsonPath;
  kind: string;
  /** The workload object that owns the template (for its name and annotations). */
  owner: Obj;
}

export function isObject(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function apiGroup(apiVersion: unknown): string | undefined {
  if (typeof apiVersion !== "string") return undefined;
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}

/** Every pod template in a parsed document, including those inside a `kind: List`. */
export function findPodTemplates(doc: unknown, base: JsonPath = []): PodTemplateSite[] {
  if (!isObject(doc) || typeof doc.kind !== "string") return [];
  if (doc.kind === "List" && apiGroup(doc.apiVersion) === "" && Array.isArray(doc.items)) {
    return doc.items.flatMap((item, i) => findPodTemplates(item, [...base, "items", i]));
  }
  const at = TEMPLATE_AT[doc.kind];
  const group = apiGroup(doc.apiVersion);
  if (!at || group === undefined || !at.groups.includes(group)) return [];
  if (!isObject(getPath(doc, at.path))) return [];
  return [{ path: [...base, ...at.path], kind: doc.kind, owner: doc }];
}

export function getPath(root: unknown, path: JsonPath): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (Array.isArray(cur) && typeof key === "number") cur = cur[key];
    else if (isObject(cur) && typeof key === "string") cur = cur[key];
    else return undefined;
  }
  return cur;
}
