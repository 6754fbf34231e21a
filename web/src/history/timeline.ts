/**
 * Lays out node attempts on one time axis: a bar per attempt (start to end, a running one to
 * now) and a wait between consecutive attempts of the same node, as fractions of the span.
 */
export interface AttemptRun {
  nodeId: string;
  attempt: number;
  status: string;
  startedAt: string;
  finishedAt?: string | null;
}

export interface Bar {
  nodeId: string;
  attempt: number;
  status: string;
  kind: "attempt" | "wait";
  left: number;
  width: number;
  ms: number;
}

export function layoutTimeline(runs: readonly AttemptRun[], now: number): { lanes: string[]; bars: Bar[]; spanMs: number } {
  const timed = runs.filter((r) => r.status !== "skipped");
  if (timed.length === 0) return { lanes: [], bars: [], spanMs: 0 };
  const t = (s: string) => Date.parse(s);
  const start = Math.min(...timed.map((r) => t(r.startedAt)));
  const end = Math.max(...timed.map((r) => (r.finishedAt ? t(r.finishedAt) : now)), start + 1);
  const span = end - start;
  const lanes: string[] = [];
  const bars: Bar[] = [];
  const byNode = new Map<string, AttemptRun[]>();
  for (const r of timed) {
    if (!byNode.has(r.nodeId)) {
      byNode.set(r.nodeId, []);
      lanes.push(r.nodeId);
    }
    byNode.get(r.nodeId)!.push(r);
  }
  for (const [nodeId, attempts] of byNode) {
    attempts.sort((a, b) => a.attempt - b.attempt);
    attempts.forEach((r, i) => {
      const s = t(r.startedAt);
      const e = r.finishedAt ? t(r.finishedAt) : now;
      if (i > 0) {
        const prevFinished = attempts[i - 1]?.finishedAt;
        const prevEnd = prevFinished ? t(prevFinished) : s;
        if (s > prevEnd) bars.push({ nodeId, attempt: r.attempt, status: "wait", kind: "wait", left: (prevEnd - start) / span, width: (s - prevEnd) / span, ms: s - prevEnd });
      }
      bars.push({ nodeId, attempt: r.attempt, status: r.status, kind: "attempt", left: (s - start) / span, width: Math.max(0, e - s) / span, ms: Math.max(0, e - s) });
    });
  }
  return { lanes, bars, spanMs: span };
}

/** A JSON value as text, cut at `limit` characters; `cut` says whether it was. */
export function previewJson(value: unknown, limit = 20_000): { text: string; cut: boolean; size: number } {
  const text = JSON.stringify(value, null, 2) ?? "null";
  return text.length > limit ? { text: text.slice(0, limit), cut: true, size: text.length } : { text, cut: false, size: text.length };
}
