/**
 * The workflow graph of an execution, read-only, each node coloured by its state in this run
 * (`data-state` on the React Flow node, like the editor's canvas). Clicking a node picks it.
 */
import { useMemo } from "react";
import { Background, ReactFlow, type Edge, type Node } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { formatDuration } from "../live/format";
import type { NodeRunState } from "../live/useLiveExecution";
import { readDocument, type DocEdge, type DocNode } from "./document";

/** Positions from the document, else a simple left-to-right layering by depth. */
function positions(nodes: DocNode[], edges: DocEdge[]): Map<string, { x: number; y: number }> {
  const depth = new Map<string, number>(nodes.map((n) => [n.id, 0]));
  for (let i = 0; i < nodes.length; i++) {
    for (const e of edges) depth.set(e.target, Math.max(depth.get(e.target) ?? 0, (depth.get(e.source) ?? 0) + 1));
  }
  const perLayer = new Map<number, number>();
  const out = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    if (n.position && Number.isFinite(n.position.x) && Number.isFinite(n.position.y)) {
      out.set(n.id, n.position);
      continue;
    }
    const d = depth.get(n.id) ?? 0;
    const row = perLayer.get(d) ?? 0;
    perLayer.set(d, row + 1);
    out.set(n.id, { x: d * 220, y: row * 110 });
  }
  return out;
}

export function RunGraph({
  document,
  states,
  selected,
  onSelect,
}: {
  document: unknown;
  states: Map<string, NodeRunState>;
  selected: string | null;
  onSelect: (nodeId: string) => void;
}) {
  const { nodes: docNodes, edges: docEdges } = useMemo(() => readDocument(document), [document]);
  const place = useMemo(() => positions(docNodes, docEdges), [docNodes, docEdges]);
  const nodes: Node[] = docNodes.map((n) => {
    const s = states.get(n.id);
    const state = s?.state ?? "idle";
    return {
      id: n.id,
      position: place.get(n.id) ?? { x: 0, y: 0 },
      data: {
        label: (
          <div className="run-node">
            <strong>{n.name || n.id}</strong>
            <span className="muted">{n.type}</span>
            <span className="run-node-meta">
              {state}
              {s?.durationMs != null ? ` · ${formatDuration(s.durationMs)}` : ""}
              {s && s.attempts > 1 ? ` · ${s.attempts} attempts` : ""}
            </span>
          </div>
        ),
      },
      className: `run-node-box state-${state}${selected === n.id ? " is-selected" : ""}`,
      domAttributes: { "data-state": state } as Node["domAttributes"],
      draggable: false,
      connectable: false,
    };
  });
  const edges: Edge[] = docEdges.map((e, i) => ({
    id: `${e.source}-${e.target}-${i}`,
    source: e.source,
    target: e.target,
    label: e.sourceHandle && e.sourceHandle !== "main" ? e.sourceHandle : undefined,
  }));
  return (
    <div className="run-graph" aria-label="Workflow graph">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        fitView
        nodesDraggable={false}
        nodesConnectable={false}
        elementsSelectable
        onNodeClick={(_, n) => onSelect(n.id)}
        proOptions={{ hideAttribution: true }}
      >
        <Background />
      </ReactFlow>
    </div>
  );
}
