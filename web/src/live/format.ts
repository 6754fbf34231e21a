/**
 * How events and durations read in the log panel and on the timeline: one line per event,
 * retries with the wait before the next attempt, errors with their message.
 */
import type { LiveEvent } from "./reducer";

export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

export type LogLevel = "info" | "success" | "warning" | "error";

export interface LogLine {
  sequence: number;
  level: LogLevel;
  text: string;
}

export function logLine(e: LiveEvent): LogLine {
  const node = e.nodeName && e.nodeName !== e.nodeId ? `${e.nodeName} (${e.nodeId})` : (e.nodeId ?? "");
  const base = { sequence: e.sequence };
  switch (e.kind) {
    case "EXECUTION_START":
      return { ...base, level: "info", text: "Execution started" };
    case "NODE_START":
      return { ...base, level: "info", text: `${node} started${(e.attempt ?? 1) > 1 ? ` (attempt ${e.attempt})` : ""}` };
    case "NODE_COMPLETE":
      return { ...base, level: "success", text: `${node} succeeded in ${formatDuration(e.durationMs ?? 0)}` };
    case "NODE_ERROR": {
      const code = e.errorCode ? ` [${e.errorCode}]` : "";
      const what = `${node} failed on attempt ${e.attempt ?? 1}${code}: ${e.error ?? "unknown error"}`;
      if (e.willRetry) {
        const wait = e.retryDelayMs !== null && e.retryDelayMs !== undefined ? ` in ${formatDuration(e.retryDelayMs)}` : "";
        return { ...base, level: "warning", text: `${what} — retrying${wait}` };
      }
      return { ...base, level: "error", text: what };
    }
    case "EXECUTION_COMPLETE": {
      const status = (e.status ?? "finished").toLowerCase();
      return {
        ...base,
        level: status === "succeeded" ? "success" : status === "failed" ? "error" : "warning",
        text: `Execution ${status} after ${formatDuration(e.totalDurationMs ?? 0)}`,
      };
    }
    default:
      return { ...base, level: "info", text: `${e.kind ?? "Event"}${node ? ` ${node}` : ""}${e.error ? `: ${e.error}` : ""}` };
  }
}
