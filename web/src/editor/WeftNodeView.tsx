/**
 * How a workflow node looks on the canvas: icon, name, type, the problems the server found in
 * it, one target handle, and a source handle per output (`main`, or `true`/`false` of a
 * condition) plus `error`, which every node has.
 */
import { memo, useContext } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import { NodeIcon } from "../palette/icons";
import type { WeftNode } from "./document";
import { lookKey, NodeLooks } from "./nodeLooks";

export const WeftNodeView = memo(function WeftNodeView({ data, id }: NodeProps<WeftNode>) {
  const toolUuid = typeof data.doc.config?.toolId === "string" ? data.doc.config.toolId : undefined;
  const looks = useContext(NodeLooks);
  const look = looks.get(lookKey(data.doc.type, toolUuid)) ??
    looks.get(`type:${data.doc.type}`) ?? { icon: "puzzle", typeLabel: data.doc.type, handles: ["main", "error"] };
  const outputs = look.handles;
  const step = 100 / (outputs.length + 1);
  return (
    <div className={`weft-node${data.problems.length ? " has-problems" : ""}`}>
      <Handle type="target" position={Position.Left} aria-label={`Input of ${id}`} />
      <div className="title">
        <NodeIcon name={look.icon} />
        <span>{data.doc.name || id}</span>
      </div>
      <div className="subtitle">
        {look.typeLabel} · <code>{id}</code>
        {data.state !== "idle" && <> · {data.state}</>}
      </div>
      {data.problems.length > 0 && (
        <ul className="problems" aria-label={`Problems of ${id}`}>
          {data.problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      {outputs.map((h, i) => (
        <Handle
          key={h}
          id={h}
          type="source"
          position={Position.Right}
          className={`handle-${h}`}
          style={{ top: `${step * (i + 1)}%` }}
          aria-label={`${h} output of ${id}`}
        >
          {h !== "main" && <span className="handle-label">{h}</span>}
        </Handle>
      ))}
    </div>
  );
});
