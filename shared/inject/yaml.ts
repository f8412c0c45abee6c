// Injection over a multi-document YAML text. Each pod template is injected as plain data
// (pod.ts), the change is diffed into path operations and those are applied to the parsed
// Document nodes, so comments, key order and scalar styles of everything we did not touch
// survive. Documents without a change are copied from the input byte for byte.
import { type Document, isMap, isSeq, parseAllDocuments, type ToStringOptions } from "yaml";
import { diff, type PathOp } from "./json-patch.js";
import { InjectError, type InjectOptions, resolveOptions } from "./options.js";
import { injectPodTemplate } from "./pod.js";
import { findPodTemplates, getPath, isObject, type JsonPath } from "./workloads.js";

export interface WorkloadResult {
  /** 0-based document index in the input. */
  document: number;
  kind: string;
  name: string;
  /** metadata.namespace of the workload, if the manifest sets one. */
  namespace?: string;
  status: "injected" | "unchanged" | "skipped";
  reason?: string;
  warnings: string[];
}

export interface YamlInjection {
  yaml: string;
  workloads: WorkloadResult[];
}

function applyOp(doc: Document, base: JsonPath, op: PathOp): void {
  const full = [...base, ...op.path];
  const key = full[full.length - 1];
  const parentPath = full.slice(0, -1);
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  if (key === undefined) throw new InjectError("TSMESH_ERR_INJECT_YAML", "cannot replace a whole document");
  if (isSeq(parent) && typeof key === "number") {
    if (op.op === "remove") parent.items.splice(key, 1);
    else parent.items.splice(key, op.op === "add" ? 0 : 1, doc.createNode(op.value));
  } else if (isMap(parent) && typeof key === "string") {
    if (op.op === "remove") parent.delete(key);
    else parent.set(key, doc.createNode(op.value));
  } else {
    // e.g. a pod template reached through a YAML alias: editing it would change other places.
    throw new InjectError("TSMESH_ERR_INJECT_YAML", `cannot edit YAML at ${full.join(".")} (alias or unexpected node)`);
  }
}

/** Keep the input's list indentation and flow-map spacing so edited documents look alike. */
function styleOf(source: string): ToStringOptions {
  const compactSeq = /^( *)[^\s#-][^\n]*:[ \t]*\n\1- /m.test(source);
  const tightFlow = /\{[^\s}]/.test(source);
  return { lineWidth: 0, indentSeq: !compactSeq, flowCollectionPadding: !tightFlow };
}

function namespaceOf(obj: unknown): string | undefined {
  const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : {};
  return typeof meta.namespace === "string" && meta.namespace ? meta.namespace : undefined;
}

function nameOf(obj: unknown): string {
  const meta = isObject(obj) && isObject(obj.metadata) ? obj.metadata : {};
  return typeof meta.name === "string" ? meta.name : typeof meta.generateName === "string" ? meta.generateName : "";
}

export function injectYaml(text: string, options: Partial<InjectOptions> = {}): YamlInjection {
  const opts = resolveOptions(options);
  const docs = parseAllDocuments(text, { prettyErrors: true });
  if (!Array.isArray(docs)) return { yaml: text, workloads: [] }; // empty stream
  const workloads: WorkloadResult[] = [];
  let out = "";
  let cursor = 0;
  docs.forEach((doc, index) => {
    const err = doc.errors[0];
    if (err) throw new InjectError("TSMESH_ERR_INJECT_YAML", `document ${index + 1}: ${err.message}`);
    const end = doc.range[2];
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    let changed = false;
    for (const site of findPodTemplates(data)) {
      const template = getPath(data, site.path) as Record<string, unknown>;
      const name = nameOf(site.owner);
      const outcome = injectPodTemplate(template, { workloadName: name || undefined, owner: site.owner }, opts);
      const namespace = namespaceOf(site.owner);
      const base = { document: index, kind: site.kind, name, ...(namespace ? { namespace } : {}), warnings: outcome.warnings };
      if (outcome.status === "skipped") {
        workloads.push({ ...base, status: "skipped", reason: outcome.reason });
        continue;
      }
      const ops = diff(template, outcome.template);
      for (const op of ops) applyOp(doc, site.path, op);
      changed ||= ops.length > 0;
      workloads.push({ ...base, status: ops.length > 0 ? "injected" : "unchanged" });
    }
    // The segment from the previous document's end holds this document's leading comments and
    // '---' marker, all of which Document.toString() reproduces.
    const segment = text.slice(cursor, end);
    out += changed ? doc.toString(styleOf(segment)) : segment;
    cursor = end;
  });
  out += text.slice(cursor);
  return { yaml: out, workloads };
}
