/**
 * Follows one execution's events over graphql-ws until its `EXECUTION_COMPLETE`. It owns its
 * socket (no automatic retry inside graphql-ws) so that after any drop it can resubscribe
 * with `afterSequence` = the last contiguous sequence it holds: the server replays what was
 * missed and the reducer drops what was already held, so the view ends exactly right.
 */
import { createClient, type Client as WsClient } from "graphql-ws";
import { print } from "graphql";
import { readToken } from "../auth/token";
import { ExecutionEventsSubscription } from "./operations";
import { applyEvent, initialLive, type LiveEvent, type LiveExecution } from "./reducer";

function wsUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}/graphql/ws`;
}

export type Connection = "connecting" | "live" | "reconnecting" | "done";

export interface StreamState {
  live: LiveExecution;
  connection: Connection;
  /** The last transport or GraphQL error, shown until the stream is live again. */
  error: string | null;
  reconnects: number;
}

const QUERY = print(ExecutionEventsSubscription);

/** Starts following `executionId`; `onChange` gets every new state. Returns a stop function. */
export function followExecution(
  executionId: string,
  nodeIds: readonly string[],
  onChange: (s: StreamState) => void,
): () => void {
  let state: StreamState = { live: initialLive(nodeIds), connection: "connecting", error: null, reconnects: 0 };
  let stopped = false;
  let client: WsClient | null = null;
  let unsubscribe: (() => void) | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;
  let pending: LiveEvent[] = [];
  let flushScheduled = false;

  const set = (next: Partial<StreamState>) => {
    state = { ...state, ...next };
    onChange(state);
  };

  // Events that arrive together (a replay) are applied in one render.
  const flush = () => {
    flushScheduled = false;
    if (stopped || pending.length === 0) return;
    let live = state.live;
    for (const e of pending) live = applyEvent(live, e);
    pending = [];
    if (live === state.live) return;
    set({ live, connection: live.finished ? "done" : "live", error: null });
    if (live.finished) close();
  };

  const close = () => {
    unsubscribe?.();
    unsubscribe = null;
    void client?.dispose();
    client = null;
  };

  const connect = () => {
    if (stopped) return;
    close();
    client = createClient({
      url: wsUrl(),
      retryAttempts: 0,
      lazy: true,
      connectionParams: () => {
        const token = readToken();
        return token ? { Authorization: `Bearer ${token}` } : {};
      },
      on: { connected: () => { if (!state.live.finished) set({ connection: "live" }); } },
    });
    unsubscribe = client.subscribe<{ executionEvents: LiveEvent }>(
      { query: QUERY, variables: { executionId, afterSequence: state.live.contiguous } },
      {
        next(result) {
          const event = result.data?.executionEvents;
          if (result.errors?.length) set({ error: result.errors.map((e) => e.message).join("; ") });
          if (!event) return;
          pending.push(event);
          if (!flushScheduled) {
            flushScheduled = true;
            queueMicrotask(flush);
          }
        },
        error(err) {
          flush();
          if (stopped || state.live.finished) return;
          // GraphQL errors (no such execution, no access) will not change by asking again.
          if (Array.isArray(err)) {
            close();
            set({ connection: "done", error: err.map((e: { message?: string }) => e.message ?? String(e)).join("; ") });
            return;
          }
          const message = err instanceof Error ? err.message : err instanceof CloseEvent ? `connection closed (${err.code})` : String(err);
          scheduleReconnect(message);
        },
        complete() {
          flush();
          if (!stopped && !state.live.finished) scheduleReconnect("the server ended the stream");
        },
      },
    );
  };

  const scheduleReconnect = (message: string) => {
    close();
    const attempt = state.reconnects + 1;
    set({ connection: "reconnecting", error: message, reconnects: attempt });
    // Quick first retry (a server restart is usually short), then back off to 5 s.
    const delay = Math.min(5000, 250 * 2 ** Math.min(attempt - 1, 5));
    retryTimer = setTimeout(connect, delay);
  };

  onChange(state);
  connect();
  return () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    close();
  };
}
