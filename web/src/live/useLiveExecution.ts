/**
 * React hooks over [`followExecution`]: the whole live state for the execution view, and
 * `useExecutionStates` — the narrow interface the editor's canvas reads (node id → state and
 * duration) to set each node's `data-state`.
 */
import { useEffect, useMemo, useState } from "react";
import { followExecution, type StreamState } from "./stream";
import { initialLive, withNodes, type NodeLive, type NodeState } from "./reducer";

export function useLiveExecution(executionId: string | null, nodeIds: readonly string[] = []): StreamState {
  const [state, setState] = useState<StreamState>(() => ({
    live: initialLive(nodeIds),
    connection: "connecting",
    error: null,
    reconnects: 0,
  }));
  useEffect(() => {
    if (!executionId) return;
    return followExecution(executionId, [], setState);
  }, [executionId]);
  const key = nodeIds.join("\u0000");
  // Node ids known from the graph are shown pending before their first event.
  const live = useMemo(() => withNodes(state.live, nodeIds), [state.live, key]); // eslint-disable-line react-hooks/exhaustive-deps
  return live === state.live ? state : { ...state, live };
}

export interface NodeRunState {
  state: NodeState;
  durationMs: number | null;
  attempts: number;
}

/** Node id → state for the canvas; empty while `executionId` is null. */
export function useExecutionStates(executionId: string | null, nodeIds: readonly string[] = []): Map<string, NodeRunState> {
  const { live } = useLiveExecution(executionId, nodeIds);
  return useMemo(() => {
    const map = new Map<string, NodeRunState>();
    for (const [id, n] of Object.entries(live.nodes) as [string, NodeLive][]) {
      map.set(id, { state: n.state, durationMs: n.durationMs, attempts: n.attempts });
    }
    return map;
  }, [live.nodes]);
}
