/**
 * The workflow document (what the server stores and validates) and the canvas model (React
 * Flow nodes and edges) are two views of one graph. These pure functions convert between them
 * without losing anything the canvas does not show (retry, timeouts, unknown future fields), so
 * opening and saving a workflow never rewrites what the user did not touch.
 */
import type { Edge, Node } from "@xyflow/react";

export type NodeState = "idle" | "pending" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";

export interface DocNode {
  id: string;
  type: string;
  name?: string;
  config?: Record<string, unknown>;
  inputs?: Record<string, unknown>;
  position?: { x: number; y: number };
  [key: string]: unknown;
}

export interface DocEdge {
  source: string;
  target: string;
  sourceHandle?: string;
  targetHandle?: string;
}

export interface WorkflowDocument {
  version: number;
  nodes: DocNode[];
  edges: DocEdge[];
}

export interface WeftNodeData extends Record<string, unknown> {
  doc: DocNode;
  state: NodeState;
  problems: string[];
}

export type WeftNode = Node<WeftNodeData, "weft">;
export type WeftEdge = Edge;

export const EMPTY_DOCUMENT: WorkflowDocument = { version: 1, nodes: [], edges: [] };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads whatever the server returned; anything malformed becomes an empty graph part. */
export function parseDocument(raw: unknown): WorkflowDocument {
  if (!isObject(raw)) return { ...EMPTY_DOCUMENT };
  const nodes = Array.isArray(raw.nodes)
    ? raw.nodes.filter((n): n is DocNode => isObject(n) && typeof n.id === "string" && typeof n.type === "string")
    : [];
  const edges = Array.isArray(raw.edges)
    ? raw.edges.filter(
        (e): e is DocEdge => isObject(e) && typeof e.source === "string" && typeof e.target === "string",
      )
    : [];
  return { version: typeof raw.version === "number" ? raw.version : 1, nodes, edges };
}

export function edgeId(e: DocEdge): string {
  return `${e.source}:${e.sourceHandle ?? "main"}->${e.target}`;
}

export function toFlow(doc: WorkflowDocument): { nodes: WeftNode[]; edges: WeftEdge[] } {
  const nodes = doc.nodes.map((n, i): WeftNode => {
    return {
      id: n.id,
      type: "weft",
      position: n.position ?? { x: 260 * (i % 6), y: 140 * Math.floor(i / 6) },
      data: { doc: n, state: "idle", problems: [] },
    };
  });
  const edges = doc.edges.map((e): WeftEdge => flowEdge(e));
  return { nodes, edges };
}

export function flowEdge(e: DocEdge): WeftEdge {
  const handle = e.sourceHandle ?? "main";
  return {
    id: edgeId(e),
    source: e.source,
    target: e.target,
    sourceHandle: handle,
    targetHandle: e.targetHandle ?? null,
    label: handle === "main" ? undefined : handle,
    className: `edge-${handle}`,
  };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export function toDocument(nodes: WeftNode[], edges: WeftEdge[]): WorkflowDocument {
  return {
    version: 1,
    nodes: nodes.map((n) => ({
      ...n.data.doc,
      id: n.id,
      position: { x: round(n.position.x), y: round(n.position.y) },
    })),
    edges: edges.map((e) => {
      const out: DocEdge = { source: e.source, target: e.target };
      if (e.sourceHandle && e.sourceHandle !== "main") out.sourceHandle = e.sourceHandle;
      if (e.targetHandle) out.targetHandle = e.targetHandle;
      return out;
    }),
  };
}

/** Stable text of a document, to tell whether the canvas differs from what was saved. */
export function documentKey(doc: WorkflowDocument): string {
  return JSON.stringify(doc);
}

/**
 * A node id in the server's form (`^[A-Za-z_][A-Za-z0-9_-]*$`), derived from a readable name
 * so bindings read well (`fetch_orders.output.items`), and unique among `taken`.
 */
export function newNodeId(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  let slug = base
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, "_")
    .replace(/^_+|_+$/g, "")
    .slice(0, 40);
  if (!slug || !/^[a-z_]/.test(slug)) slug = `n_${slug}`;
  if (!used.has(slug)) return slug;
  for (let i = 2; ; i++) {
    const candidate = `${slug}_${i}`;
    if (!used.has(candidate)) return candidate;
  }
}

/** The `default` of each top-level property of an object schema. */
export function schemaDefaults(schema: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (!isObject(schema) || !isObject(schema.properties)) return out;
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (isObject(prop) && "default" in prop) out[key] = prop.default;
  }
  return out;
}

/**
 * Copies `nodes` (and the edges among them) with fresh ids, shifted by `offset`, so a paste
 * never collides with what is on the canvas. Bindings that referred to a copied node follow
 * the copy.
 */
export function duplicate(
  nodes: WeftNode[],
  edges: WeftEdge[],
  taken: Iterable<string>,
  offset: { x: number; y: number },
): { nodes: WeftNode[]; edges: WeftEdge[] } {
  const used = new Set(taken);
  const rename = new Map<string, string>();
  for (const n of nodes) {
    const id = newNodeId(n.id.replace(/_\d+$/, ""), used);
    used.add(id);
    rename.set(n.id, id);
  }
  const retarget = (value: unknown): unknown => {
    if (typeof value === "string") {
      const m = /^([A-Za-z_][A-Za-z0-9_-]*)(\..*)?$/.exec(value);
      const to = m?.[1] ? rename.get(m[1]) : undefined;
      return to ? to + (m?.[2] ?? "") : value;
    }
    if (Array.isArray(value)) return value.map(retarget);
    if (isObject(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === "ref" ? retarget(v) : retargetDeep(v)]));
    }
    return value;
  };
  const retargetDeep = (value: unknown): unknown =>
    isObject(value) || Array.isArray(value) ? retarget(value) : value;
  const copies = nodes.map((n): WeftNode => {
    const id = rename.get(n.id) ?? n.id;
    const doc: DocNode = { ...n.data.doc, id };
    if (doc.inputs) doc.inputs = retarget(doc.inputs) as Record<string, unknown>;
    return {
      ...n,
      id,
      selected: true,
      position: { x: n.position.x + offset.x, y: n.position.y + offset.y },
      data: { doc, state: "idle", problems: [] },
    };
  });
  const copiedEdges = edges
    .filter((e) => rename.has(e.source) && rename.has(e.target))
    .map((e) =>
      flowEdge({
        source: rename.get(e.source) ?? e.source,
        target: rename.get(e.target) ?? e.target,
        sourceHandle: e.sourceHandle ?? undefined,
        targetHandle: e.targetHandle ?? undefined,
      }),
    );
  return { nodes: copies, edges: copiedEdges };
}
