/**
 * Folds an execution's events into what the live view shows: each node's state, attempts and
 * duration, the execution's status, and the ordered log. Pure, so the rules for duplicates,
 * gaps and reconnection are tested without a socket.
 *
 * Why it keeps `contiguous`: after a dropped socket the client resubscribes with
 * `afterSequence` = the highest sequence up to which nothing is missing; the server replays
 * from there, and anything already held is dropped by sequence. An event that arrives after
 * a gap is kept (and the gap is refilled by the replay) rather than thrown away.
 */

export type NodeState = "pending" | "running" | "succeeded" | "failed" | "skipped" | "cancelled";

/** The subset of `ExecutionEvent` the live view reads (kinds the client does not know are kept in the log). */
export interface LiveEvent {
  sequence: number;
  kind: string | null;
  at: string;
  nodeId?: string | null;
  nodeName?: string | null;
  attempt?: number | null;
  error?: string | null;
  errorCode?: string | null;
  willRetry?: boolean | null;
  retryDelayMs?: number | null;
  durationMs?: number | null;
  status?: string | null;
  totalDurationMs?: number | null;
}

export interface NodeLive {
  state: NodeState;
  /** The highest attempt number seen. */
  attempts: number;
  /** Time spent in attempts so far (ms), waits between attempts not counted. */
  durationMs: number | null;
  /** When the current (or last) attempt started. */
  startedAt: string | null;
  lastError: string | null;
}

export interface LiveExecution {
  /** Every event held, ordered by sequence, each exactly once. */
  events: LiveEvent[];
  /** Highest sequence n such that 1..n are all held. */
  contiguous: number;
  nodes: Record<string, NodeLive>;
  /** Lower-case execution status once known (`running` after the start event). */
  status: string | null;
  startedAt: string | null;
  totalDurationMs: number | null;
  finished: boolean;
}

export function initialLive(nodeIds: readonly string[] = []): LiveExecution {
  const nodes: Record<string, NodeLive> = {};
  for (const id of nodeIds) nodes[id] = pendingNode();
  return { events: [], contiguous: 0, nodes, status: null, startedAt: null, totalDurationMs: null, finished: false };
}

function pendingNode(): NodeLive {
  return { state: "pending", attempts: 0, durationMs: null, startedAt: null, lastError: null };
}

/** Adds the node ids of a graph that were not known yet (their state: pending, or what the end decided). */
export function withNodes(live: LiveExecution, nodeIds: readonly string[]): LiveExecution {
  const missing = nodeIds.filter((id) => !(id in live.nodes));
  if (missing.length === 0) return live;
  const nodes = { ...live.nodes };
  for (const id of missing) nodes[id] = { ...pendingNode(), state: live.finished ? leftOver("pending", live.status) : "pending" };
  return { ...live, nodes };
}

/** Applies one event; returns `live` itself when the event was already held. */
export function applyEvent(live: LiveExecution, event: LiveEvent): LiveExecution {
  const last = live.events[live.events.length - 1]?.sequence ?? 0;
  if (event.sequence > last) {
    const events = [...live.events, event];
    return { ...fold(live, event), events, contiguous: advance(events, live.contiguous) };
  }
  if (live.events.some((e) => e.sequence === event.sequence)) return live;
  // Arrived after a later one (a gap being refilled): insert in order and fold again from
  // scratch, since node states depend on order.
  const events = [...live.events, event].sort((a, b) => a.sequence - b.sequence);
  let rebuilt = initialLive(Object.keys(live.nodes));
  for (const e of events) rebuilt = fold(rebuilt, e);
  return { ...rebuilt, events, contiguous: advance(events, 0) };
}

export function applyEvents(live: LiveExecution, events: readonly LiveEvent[]): LiveExecution {
  return events.reduce(applyEvent, live);
}

/** Highest n with 1..n all present, given `events` sorted and `from` already known to be contiguous. */
function advance(events: readonly LiveEvent[], from: number): number {
  let n = from;
  // Events are sorted and unique, so sequence k (k ≥ 1) sits at index k - 1 when none is missing.
  while (events[n]?.sequence === n + 1) n += 1;
  return n;
}

function fold(live: LiveExecution, e: LiveEvent): LiveExecution {
  switch (e.kind) {
    case "EXECUTION_START":
      return { ...live, status: live.finished ? live.status : "running", startedAt: e.at };
    case "NODE_START":
      return updateNode(live, e.nodeId, (n) => ({
        ...n,
        state: "running",
        attempts: Math.max(n.attempts, e.attempt ?? 1),
        startedAt: e.at,
      }));
    case "NODE_COMPLETE":
      return updateNode(live, e.nodeId, (n) => ({
        ...n,
        state: "succeeded",
        attempts: Math.max(n.attempts, 1),
        durationMs: (n.durationMs ?? 0) + (e.durationMs ?? 0),
      }));
    case "NODE_ERROR":
      return updateNode(live, e.nodeId, (n) => ({
        ...n,
        // Waiting for the next attempt is still running from the user's point of view.
        state: e.willRetry ? "running" : "failed",
        attempts: Math.max(n.attempts, e.attempt ?? 1),
        durationMs: (n.durationMs ?? 0) + (e.durationMs ?? 0),
        lastError: e.error ?? n.lastError,
      }));
    case "EXECUTION_COMPLETE": {
      const status = (e.status ?? "").toLowerCase() || null;
      const nodes: Record<string, NodeLive> = {};
      for (const [id, n] of Object.entries(live.nodes)) nodes[id] = { ...n, state: leftOver(n.state, status) };
      return { ...live, nodes, status, totalDurationMs: e.totalDurationMs ?? null, finished: true };
    }
    default:
      return live;
  }
}

/** What a node that had not finished becomes when the execution ends. */
function leftOver(state: NodeState, status: string | null): NodeState {
  if (state === "pending") return status === "succeeded" ? "skipped" : "cancelled";
  if (state === "running") return "cancelled";
  return state;
}

function updateNode(live: LiveExecution, id: string | null | undefined, f: (n: NodeLive) => NodeLive): LiveExecution {
  if (!id) return live;
  return { ...live, nodes: { ...live.nodes, [id]: f(live.nodes[id] ?? pendingNode()) } };
}

/** Total duration to show: the final figure, or the time since the start while running. */
export function shownTotalMs(live: LiveExecution, now: number): number | null {
  if (live.totalDurationMs !== null) return live.totalDurationMs;
  if (!live.startedAt) return null;
  return Math.max(0, now - Date.parse(live.startedAt));
}
