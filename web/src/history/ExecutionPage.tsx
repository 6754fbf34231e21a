/**
 * `/executions/<global id>`: one execution, live while it runs (the same event stream fills
 * the log of a finished one). The graph coloured by node states, the timeline of attempts,
 * the input/output inspector and the structured error of the picked attempt, Replay and
 * Retry from the picked node, which open the new execution.
 */
import { useEffect, useMemo, useState } from "react";
import { useNavigate, useParams } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { ExecutionHeader } from "../live/ExecutionHeader";
import { LogPanel } from "../live/LogPanel";
import { formatDuration } from "../live/format";
import { useLiveExecution, type NodeRunState } from "../live/useLiveExecution";
import type { NodeState } from "../live/reducer";
import { JsonView } from "./JsonView";
import { ExecutionQuery, ReplayExecutionMutation, RetryExecutionMutation } from "./operations";
import { readDocument } from "./document";
import { RunGraph } from "./RunGraph";
import { Timeline } from "./Timeline";
import "./history.css";

export default function ExecutionPage() {
  const { id = "" } = useParams();
  const [{ data, error, fetching }, refetch] = useQuery({ query: ExecutionQuery, variables: { id }, requestPolicy: "cache-and-network" });
  const execution = data?.execution;
  const nodeIds = useMemo(() => readDocument(execution?.workflow?.document).nodes.map((n) => n.id), [execution?.workflow?.document]);
  const stream = useLiveExecution(id || null, nodeIds);
  const { live } = stream;

  // When the run ends, read the stored attempts again (skipped nodes, inputs, outputs).
  useEffect(() => {
    if (live.finished) refetch({ requestPolicy: "network-only" });
  }, [live.finished, refetch]);
  // While it runs, the attempts table follows the events (a small read per event batch).
  useEffect(() => {
    if (!live.finished && live.events.length > 0) refetch({ requestPolicy: "network-only" });
  }, [live.events.length, live.finished, refetch]);

  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (live.finished) return;
    const t = setInterval(() => setNow(Date.now()), 500);
    return () => clearInterval(t);
  }, [live.finished]);

  const runs = useMemo(() => execution?.nodeRuns ?? [], [execution]);
  const states = useMemo(() => {
    const map = new Map<string, NodeRunState>();
    for (const [nodeId, n] of Object.entries(live.nodes)) map.set(nodeId, { state: n.state, durationMs: n.durationMs, attempts: n.attempts });
    // Stored rows know what events do not say (a skipped node); events are fresher while running.
    if (execution && (live.finished || live.events.length === 0)) {
      for (const r of runs) {
        const prev = map.get(r.nodeId);
        if (r.status === "skipped" || !prev || prev.state === "pending") {
          map.set(r.nodeId, { state: r.status as NodeState, durationMs: r.durationMs ?? null, attempts: Math.max(prev?.attempts ?? 0, r.attempt) });
        }
      }
    }
    return map;
  }, [live, runs, execution]);

  const [picked, setPicked] = useState<{ nodeId: string; attempt: number | null } | null>(null);
  const attemptsOfPicked = picked ? runs.filter((r) => r.nodeId === picked.nodeId) : [];
  const shown = picked ? (attemptsOfPicked.find((r) => r.attempt === picked.attempt) ?? attemptsOfPicked[attemptsOfPicked.length - 1]) : undefined;

  const navigate = useNavigate();
  const [replaying, replay] = useMutation(ReplayExecutionMutation);
  const [retrying, retry] = useMutation(RetryExecutionMutation);
  const actionError = replaying.error?.message ?? retrying.error?.message;

  if (error && !execution) {
    return (
      <main className="page">
        <h1>Execution</h1>
        <p role="alert" className="field-error">
          {error.message}
        </p>
      </main>
    );
  }
  if (!execution) return <p className="loading">{fetching ? "Loading the execution…" : "No execution."}</p>;

  const running = !live.finished && (execution.status === "RUNNING" || execution.status === "PENDING");
  return (
    <main className="page execution-page">
      <div className="execution-title">
        <h1>
          {execution.workflow?.name ?? "Execution"} <span className="muted">v{execution.workflowVersion}</span>
        </h1>
        <span className="muted">
          {execution.triggerKind} · started {new Date(execution.startedAt).toLocaleString()}
        </span>
        <ExecutionHeader executionId={execution.id} stream={stream} initialStatus={execution.status} />
        <div className="execution-actions" role="toolbar" aria-label="Execution actions">
          <button
            type="button"
            disabled={running || replaying.fetching}
            onClick={async () => {
              const r = await replay({ input: { id: execution.id } });
              if (r.data) navigate(`/executions/${encodeURIComponent(r.data.replayExecution.id)}`);
            }}
          >
            Replay
          </button>
          <button
            type="button"
            disabled={running || !picked || retrying.fetching}
            title={picked ? undefined : "Pick a node on the graph or the timeline first"}
            onClick={async () => {
              if (!picked) return;
              const r = await retry({ input: { id: execution.id, fromNode: picked.nodeId } });
              if (r.data) navigate(`/executions/${encodeURIComponent(r.data.retryExecution.id)}`);
            }}
          >
            {picked ? `Retry from ${picked.nodeId}` : "Retry from a node"}
          </button>
        </div>
        {actionError && (
          <p role="alert" className="field-error">
            {actionError}
          </p>
        )}
      </div>
      {execution.error && live.finished && (
        <p className="banner banner-error" role="status">
          {execution.error}
        </p>
      )}
      <div className="execution-grid">
        <RunGraph document={execution.workflow?.document} states={states} selected={picked?.nodeId ?? null} onSelect={(nodeId) => setPicked({ nodeId, attempt: null })} />
        <LogPanel events={live.events} />
      </div>
      <Timeline
        runs={runs}
        now={now}
        selected={shown ? { nodeId: shown.nodeId, attempt: shown.attempt } : null}
        onSelect={(nodeId, attempt) => setPicked({ nodeId, attempt })}
      />
      {picked && (
        <section className="inspector" aria-label="Node run inspector">
          <h2>
            {picked.nodeId}
            {attemptsOfPicked.length > 1 && (
              <span className="attempt-tabs" role="group" aria-label="Attempts">
                {attemptsOfPicked.map((r) => (
                  <button key={r.attempt} type="button" aria-pressed={r === shown} onClick={() => setPicked({ nodeId: picked.nodeId, attempt: r.attempt })}>
                    attempt {r.attempt}
                  </button>
                ))}
              </span>
            )}
          </h2>
          {!shown ? (
            <p className="muted">This node has not run in this execution.</p>
          ) : (
            <>
              <p className="muted">
                {shown.nodeType} · {shown.status} · attempt {shown.attempt} of {attemptsOfPicked.length}
                {shown.durationMs != null ? ` · ${formatDuration(shown.durationMs)}` : ""}
              </p>
              {(shown.errorDetail || shown.error) && (
                <div className="error-detail" role="group" aria-label="Error">
                  <dl>
                    <dt>Code</dt>
                    <dd data-testid="error-code">{shown.errorDetail?.code ?? "FAILED"}</dd>
                    <dt>Message</dt>
                    <dd data-testid="error-message">{shown.errorDetail?.message ?? shown.error}</dd>
                    <dt>Retryable</dt>
                    <dd>{shown.errorDetail ? (shown.errorDetail.retryable ? "yes" : "no") : "unknown"}</dd>
                    <dt>Attempts</dt>
                    <dd>{attemptsOfPicked.length}</dd>
                  </dl>
                  {shown.errorDetail && shown.errorDetail.cause.length > 0 && (
                    <>
                      <h4>Caused by</h4>
                      <ol className="cause-chain">
                        {shown.errorDetail.cause.map((c, i) => (
                          <li key={i}>{c}</li>
                        ))}
                      </ol>
                    </>
                  )}
                </div>
              )}
              <div className="io">
                <JsonView label="Input" value={shown.input} />
                <JsonView label="Output" value={shown.output} />
              </div>
            </>
          )}
        </section>
      )}
    </main>
  );
}
