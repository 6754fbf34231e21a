/** What the canvas needs to draw a node of a given type or tool: icon, label, output handles. */
import { createContext } from "react";

export interface NodeLook {
  icon: string;
  typeLabel: string;
  handles: string[];
}

export const NodeLooks = createContext<Map<string, NodeLook>>(new Map());

export function lookKey(nodeType: string, toolUuid: string | undefined): string {
  return nodeType === "custom" && toolUuid ? `tool:${toolUuid}` : `type:${nodeType}`;
}
