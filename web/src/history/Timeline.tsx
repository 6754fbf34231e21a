/** The region named "Timeline": a lane per node, a bar per attempt, the waits between retries. */
import { formatDuration } from "../live/format";
import { layoutTimeline, type AttemptRun } from "./timeline";

export function Timeline({
  runs,
  now,
  selected,
  onSelect,
}: {
  runs: readonly AttemptRun[];
  now: number;
  selected: { nodeId: string; attempt: number } | null;
  onSelect: (nodeId: string, attempt: number) => void;
}) {
  const { lanes, bars, spanMs } = layoutTimeline(runs, now);
  return (
    <section className="timeline" aria-label="Timeline">
      <h2>
        Timeline <span className="muted">{formatDuration(spanMs)}</span>
      </h2>
      {lanes.length === 0 && <p className="muted">No node has run yet.</p>}
      {lanes.map((nodeId) => (
        <div className="timeline-lane" key={nodeId}>
          <span className="timeline-label">{nodeId}</span>
          <div className="timeline-track">
            {bars
              .filter((b) => b.nodeId === nodeId)
              .map((b) =>
                b.kind === "wait" ? (
                  <span
                    key={`w${b.attempt}`}
                    className="timeline-wait"
                    title={`waited ${formatDuration(b.ms)} before attempt ${b.attempt}`}
                    style={{ left: `${b.left * 100}%`, width: `${b.width * 100}%` }}
                  />
                ) : (
                  <button
                    type="button"
                    key={`a${b.attempt}`}
                    className={`timeline-bar state-${b.status}${selected?.nodeId === nodeId && selected.attempt === b.attempt ? " is-selected" : ""}`}
                    data-node-id={nodeId}
                    data-attempt={b.attempt}
                    aria-label={`${nodeId} attempt ${b.attempt}: ${b.status}, ${formatDuration(b.ms)}`}
                    title={`${nodeId} attempt ${b.attempt}: ${b.status}, ${formatDuration(b.ms)}`}
                    style={{ left: `${b.left * 100}%`, width: `max(3px, ${b.width * 100}%)` }}
                    onClick={() => onSelect(nodeId, b.attempt)}
                  />
                ),
              )}
          </div>
        </div>
      ))}
    </section>
  );
}
