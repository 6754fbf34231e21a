/**
 * The streaming log: one entry per event, in sequence order, each carrying `data-sequence`
 * (a test reads every sequence exactly once). Follows the bottom while the user has not
 * scrolled up.
 */
import { useEffect, useRef } from "react";
import { logLine } from "./format";
import type { LiveEvent } from "./reducer";

export function LogPanel({ events }: { events: readonly LiveEvent[] }) {
  const list = useRef<HTMLOListElement>(null);
  const pinned = useRef(true);
  useEffect(() => {
    const el = list.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [events.length]);
  return (
    <section className="log-panel" aria-label="Execution log">
      <h2>Log</h2>
      <ol
        ref={list}
        className="log-lines"
        onScroll={(e) => {
          const el = e.currentTarget;
          pinned.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
        }}
      >
        {events.map((e) => {
          const line = logLine(e);
          return (
            <li key={e.sequence} data-sequence={e.sequence} className={`log-${line.level}`}>
              <time dateTime={e.at}>{e.at ? new Date(e.at).toLocaleTimeString() : ""}</time> <span>{line.text}</span>
            </li>
          );
        })}
        {events.length === 0 && <li className="muted">Waiting for events…</li>}
      </ol>
    </section>
  );
}
