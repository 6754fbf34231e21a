/** The parts of a workflow document the execution view draws. */
export interface DocNode {
  id: string;
  name?: string;
  type: string;
  position?: { x: number; y: number };
}
export interface DocEdge {
  source: string;
  target: string;
  sourceHandle?: string;
}

/** Reads the nodes and edges of a workflow document, tolerating anything malformed. */
export function readDocument(doc: unknown): { nodes: DocNode[]; edges: DocEdge[] } {
  const d = (doc ?? {}) as { nodes?: unknown; edges?: unknown };
  const nodes = Array.isArray(d.nodes) ? (d.nodes as DocNode[]).filter((n) => typeof n?.id === "string") : [];
  const edges = Array.isArray(d.edges) ? (d.edges as DocEdge[]).filter((e) => typeof e?.source === "string" && typeof e?.target === "string") : [];
  return { nodes, edges };
}

