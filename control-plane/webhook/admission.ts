// AdmissionReview v1 in, AdmissionReview v1 out. Pure: decides the response for one review.
// The pod is injected with the same code as `tsmesh inject` and the change is sent as a JSON
// Patch. The answer is always allowed: a mesh bug must never stop a pod from being created.
import {
  diff,
  injectPodTemplate,
  isObject,
  type InjectOptions,
  type JsonPatchOp,
  toJsonPatch,
} from "../../shared/inject/index.js";

const API_VERSION = "admission.k8s.io/v1";

export interface AdmissionResponse {
  uid: string;
  allowed: true;
  patchType?: "JSONPatch";
  /** base64 of the JSON Patch document. */
  patch?: string;
  warnings?: string[];
}

export interface AdmissionReviewOut {
  apiVersion: typeof API_VERSION;
  kind: "AdmissionReview";
  response: AdmissionResponse;
}

export type AdmissionOutcome =
  | { ok: true; review: AdmissionReviewOut; ops: JsonPatchOp[]; summary: Record<string, unknown> }
  | { ok: false; code: "TSMESH_ERR_ADMISSION_REVIEW"; error: string };

const bad = (error: string): AdmissionOutcome => ({ ok: false, code: "TSMESH_ERR_ADMISSION_REVIEW", error });

/** Pods of a ReplicaSet have only generateName "web-5d8f7c9b6-"; the workload is "web". */
function workloadNameOf(meta: Record<string, unknown>): string | undefined {
  if (typeof meta.name === "string" && meta.name) return meta.name;
  if (typeof meta.generateName !== "string" || !meta.generateName) return undefined;
  let name = meta.generateName.replace(/-$/, "");
  const labels = isObject(meta.labels) ? meta.labels : {};
  const hash = labels["pod-template-hash"];
  if (typeof hash === "string" && name.endsWith(`-${hash}`)) name = name.slice(0, -hash.length - 1);
  return name || undefined;
}

export function review(body: unknown, opts: InjectOptions): AdmissionOutcome {
  if (!isObject(body)) return bad("body is not a JSON object");
  if (body.apiVersion !== API_VERSION || body.kind !== "AdmissionReview") {
    return bad(`expected apiVersion ${API_VERSION} kind AdmissionReview`);
  }
  const req = body.request;
  if (!isObject(req)) return bad("missing request");
  if (typeof req.uid !== "string" || req.uid === "") return bad("missing request.uid");

  const uid = req.uid;
  const reply = (extra: Partial<AdmissionResponse>, ops: JsonPatchOp[], summary: Record<string, unknown>): AdmissionOutcome => ({
    ok: true,
    review: { apiVersion: API_VERSION, kind: "AdmissionReview", response: { uid, allowed: true, ...extra } },
    ops,
    summary: { uid, namespace: req.namespace, ...summary },
  });

  const kind = isObject(req.kind) ? req.kind : {};
  if (kind.kind !== "Pod" || (kind.group ?? "") !== "" || req.operation !== "CREATE" || (req.subResource ?? "") !== "") {
    return reply({}, [], { action: "ignored", reason: "not a pod creation" });
  }
  const pod = req.object;
  if (!isObject(pod)) return bad("request.object is not a pod");

  try {
    const meta = isObject(pod.metadata) ? pod.metadata : {};
    const outcome = injectPodTemplate(pod, { workloadName: workloadNameOf(meta) }, opts);
    const warnings = outcome.warnings.map((w) => `tsmesh: ${w}`);
    const extra: Partial<AdmissionResponse> = warnings.length > 0 ? { warnings } : {};
    if (outcome.status === "skipped") return reply(extra, [], { action: "skipped", reason: outcome.reason });
    const ops = toJsonPatch(diff(pod, outcome.template));
    if (ops.length === 0) return reply(extra, [], { action: "unchanged" });
    const patch = Buffer.from(JSON.stringify(ops)).toString("base64");
    return reply({ ...extra, patchType: "JSONPatch", patch }, ops, { action: "injected", ops: ops.length });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return reply({ warnings: [`tsmesh: sidecar not injected (TSMESH_ERR_INJECT): ${message}`] }, [], { action: "error", error: message });
  }
}
