/**
 * Auto-layout with dagre: left to right, like the data flows. Positions are the nodes'
 * top-left corners, as React Flow wants them.
 */
import dagre from "@dagrejs/dagre";
import type { WeftEdge, WeftNode } from "./document";

export const NODE_WIDTH = 200;
export const NODE_HEIGHT = 64;

export function autoLayout(nodes: WeftNode[], edges: WeftEdge[]): WeftNode[] {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "LR", nodesep: 40, ranksep: 80 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    g.setNode(n.id, { width: n.measured?.width ?? NODE_WIDTH, height: n.measured?.height ?? NODE_HEIGHT });
  }
  for (const e of edges) g.setEdge(e.source, e.target);
  dagre.layout(g);
  return nodes.map((n) => {
    const p = g.node(n.id);
    if (!p) return n;
    const w = n.measured?.width ?? NODE_WIDTH;
    const h = n.measured?.height ?? NODE_HEIGHT;
    return { ...n, position: { x: Math.round(p.x - w / 2), y: Math.round(p.y - h / 2) } };
  });
}
