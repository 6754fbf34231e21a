/** Status, total duration (ticking while running), connection state and the Stop button. */
import { useEffect, useState } from "react";
import { useMutation } from "urql";
import { formatDuration } from "./format";
import { StopExecutionMutation } from "./operations";
import { shownTotalMs } from "./reducer";
import type { StreamState } from "./stream";

export function ExecutionHeader({ executionId, stream, initialStatus }: { executionId: string; stream: StreamState; initialStatus: string }) {
  const { live, connection, error } = stream;
  const status = live.status ?? initialStatus.toLowerCase();
  const running = !live.finished && (status === "running" || status === "pending");
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, [running]);
  const [stopping, stop] = useMutation(StopExecutionMutation);
  return (
    <div className="execution-header" role="group" aria-label="Execution status">
      <span className={`status-badge status-${status}`} data-testid="execution-status" data-status={status}>
        {status}
      </span>
      <span data-testid="total-duration">Total {formatDuration(shownTotalMs(live, now)) || "—"}</span>
      {connection === "reconnecting" && (
        <span className="muted" role="status">
          Reconnecting… {error ? `(${error})` : ""}
        </span>
      )}
      {connection === "done" && error && (
        <span role="alert" className="field-error">
          {error}
        </span>
      )}
      {running && (
        <button type="button" className="danger" disabled={stopping.fetching} onClick={() => void stop({ input: { id: executionId } })}>
          Stop
        </button>
      )}
      {stopping.error && <span role="alert">{stopping.error.message}</span>}
    </div>
  );
}
