/**
 * `/executions`: every run the user may see, newest first, filtered by status, workflow, date
 * range and text (all in the URL). Pages are fetched by cursor as the user scrolls; only the
 * rows in view are in the DOM, so a history of 100,000 runs scrolls with a flat page.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { useClient, useQuery } from "urql";
import { WorkflowsQuery } from "../api/operations";
import { formatDuration } from "../live/format";
import { readFilters, STATUSES, toVariables, writeFilters, type Filters } from "./filters";
import { ExecutionsQuery } from "./operations";
import { rowWindow } from "./windowing";

const PAGE = 50;
const ROW = 36;

interface Row {
  id: string;
  status: string;
  triggerKind: string;
  startedAt: string;
  durationMs: number | null | undefined;
  workflowName: string;
}

export default function ExecutionsPage() {
  const [params, setParams] = useSearchParams();
  const filters = useMemo(() => readFilters(params), [params]);
  const setFilters = (f: Filters) => setParams(writeFilters(f), { replace: true });
  const [{ data: workflows }] = useQuery({ query: WorkflowsQuery });
  const client = useClient();
  const [rows, setRows] = useState<Row[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [more, setMore] = useState(true);
  // A ref, not state: it only guards against asking for the same page twice.
  const inFlight = useRef(false);
  const [error, setError] = useState<string | null>(null);
  const generation = useRef(0);
  const key = params.toString();

  const load = useCallback(
    (after: string | null, gen: number) => {
      inFlight.current = true;
      // One answer is all a page needs; declared first so a synchronous answer can stop it too.
      let subscription: { unsubscribe: () => void } | undefined = undefined;
      let answered = false;
      subscription = client
        .query(ExecutionsQuery, { first: PAGE, after, ...toVariables(filters) }, { requestPolicy: "network-only" })
        .subscribe((result) => {
          answered = true;
          subscription?.unsubscribe();
          if (gen !== generation.current) return;
          inFlight.current = false;
          if (result.error) {
            setError(result.error.message);
            return;
          }
          setError(null);
          const page = result.data?.executions;
          if (!page) return;
          setRows((old) => [
            ...(after ? old : []),
            ...page.edges.map(({ node }) => ({
              id: node.id,
              status: node.status,
              triggerKind: node.triggerKind,
              startedAt: node.startedAt,
              durationMs: node.durationMs,
              workflowName: node.workflow?.name ?? "(deleted workflow)",
            })),
          ]);
          setCursor(page.searchResumeCursor ?? page.pageInfo.endCursor ?? null);
          setMore(page.pageInfo.hasNextPage);
        });
      if (answered) subscription.unsubscribe();
    },
    [client, filters],
  );

  useEffect(() => {
    generation.current += 1;
    load(null, generation.current);
  }, [key]); // eslint-disable-line react-hooks/exhaustive-deps

  const scroller = useRef<HTMLDivElement>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const win = rowWindow(rows.length, ROW, scroll.top, scroll.height);
  useEffect(() => {
    // Fetch the next page when the window nears the end of what is loaded.
    if (more && !inFlight.current && !error && rows.length > 0 && win.end >= rows.length - 10) load(cursor, generation.current);
  }, [win.end, rows.length, more, error, cursor, load]);

  return (
    <main className="page executions-page">
      <h1>Executions</h1>
      <form className="history-filters" role="search" aria-label="Filter executions" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select value={filters.status ?? ""} onChange={(e) => setFilters({ ...filters, status: (e.target.value || null) as Filters["status"] })}>
            <option value="">Any</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s.toLowerCase()}
              </option>
            ))}
          </select>
        </label>
        <label>
          Workflow
          <select value={filters.workflowId ?? ""} onChange={(e) => setFilters({ ...filters, workflowId: e.target.value || null })}>
            <option value="">Any</option>
            {workflows?.workflows.edges.map(({ node }) => (
              <option key={node.id} value={node.id}>
                {node.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          From
          <input type="date" value={filters.from ?? ""} onChange={(e) => setFilters({ ...filters, from: e.target.value || null })} />
        </label>
        <label>
          To
          <input type="date" value={filters.to ?? ""} onChange={(e) => setFilters({ ...filters, to: e.target.value || null })} />
        </label>
        <label>
          Search
          <input
            type="search"
            defaultValue={filters.text ?? ""}
            placeholder="input, output or error text"
            onKeyDown={(e) => {
              if (e.key === "Enter") setFilters({ ...filters, text: e.currentTarget.value.trim() || null });
            }}
            onBlur={(e) => setFilters({ ...filters, text: e.currentTarget.value.trim() || null })}
          />
        </label>
      </form>
      {error && (
        <p role="alert" className="field-error">
          {error}
        </p>
      )}
      <div
        ref={scroller}
        className="history-scroller"
        onScroll={(e) => setScroll({ top: e.currentTarget.scrollTop, height: e.currentTarget.clientHeight })}
      >
        <table aria-label="Executions" aria-rowcount={rows.length + 1} className="history-table">
          <thead>
            <tr>
              <th scope="col">Status</th>
              <th scope="col">Workflow</th>
              <th scope="col">Trigger</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
            </tr>
          </thead>
          <tbody>
            {win.padTop > 0 && <tr aria-hidden="true" style={{ height: win.padTop }} />}
            {rows.slice(win.start, win.end).map((r, i) => (
              <tr key={r.id} data-execution-id={r.id} data-status={r.status} aria-rowindex={win.start + i + 2} style={{ height: ROW }}>
                <td>
                  <span className={`status-badge status-${r.status.toLowerCase()}`}>{r.status.toLowerCase()}</span>
                </td>
                <td>
                  <Link to={`/executions/${encodeURIComponent(r.id)}`}>{r.workflowName}</Link>
                </td>
                <td>{r.triggerKind}</td>
                <td>
                  <time dateTime={r.startedAt}>{new Date(r.startedAt).toLocaleString()}</time>
                </td>
                <td>{formatDuration(r.durationMs) || "—"}</td>
              </tr>
            ))}
            {win.padBottom > 0 && <tr aria-hidden="true" style={{ height: win.padBottom }} />}
          </tbody>
        </table>
        {!more && rows.length === 0 && !error && <p className="muted">No executions match these filters.</p>}
        {more && <p className="muted">Loading…</p>}
      </div>
    </main>
  );
}
