import { describe, expect, it } from "vitest";
import { applyEvent, applyEvents, initialLive, shownTotalMs, withNodes, type LiveEvent } from "./reducer";

const at = (ms: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, 0, ms)).toISOString();

/** A run of start → a → b where `a` fails once and is retried. */
function run(): LiveEvent[] {
  return [
    { sequence: 1, kind: "EXECUTION_START", at: at(0) },
    { sequence: 2, kind: "NODE_START", at: at(1), nodeId: "start", attempt: 1 },
    { sequence: 3, kind: "NODE_COMPLETE", at: at(2), nodeId: "start", durationMs: 1 },
    { sequence: 4, kind: "NODE_START", at: at(3), nodeId: "a", attempt: 1 },
    { sequence: 5, kind: "NODE_ERROR", at: at(13), nodeId: "a", attempt: 1, willRetry: true, retryDelayMs: 40, durationMs: 10, error: "HTTP 503" },
    { sequence: 6, kind: "NODE_START", at: at(60), nodeId: "a", attempt: 2 },
    { sequence: 7, kind: "NODE_COMPLETE", at: at(80), nodeId: "a", durationMs: 20 },
    { sequence: 8, kind: "EXECUTION_COMPLETE", at: at(81), status: "SUCCEEDED", totalDurationMs: 81 },
  ];
}

describe("the live execution reducer", () => {
  it("moves nodes from pending to running to succeeded and counts attempts and time", () => {
    const events = run();
    let live = initialLive(["start", "a", "b"]);
    expect(live.nodes.a!.state).toBe("pending");
    live = applyEvents(live, events.slice(0, 4));
    expect(live.nodes.start!.state).toBe("succeeded");
    expect(live.nodes.a!.state).toBe("running");
    live = applyEvent(live, events[4]!);
    expect(live.nodes.a!.state).toBe("running");
    expect(live.nodes.a!.lastError).toBe("HTTP 503");
    live = applyEvents(live, events.slice(5));
    expect(live.nodes.a!).toMatchObject({ state: "succeeded", attempts: 2, durationMs: 30 });
    expect(live.status).toBe("succeeded");
    expect(live.totalDurationMs).toBe(81);
  });

  it("marks a node that never started as skipped when the run succeeded", () => {
    const live = applyEvents(initialLive(["start", "a", "b"]), run());
    expect(live.nodes.b!.state).toBe("skipped");
  });

  it("marks unfinished nodes cancelled when the run failed or was stopped", () => {
    const live = applyEvents(initialLive(["start", "a", "b"]), [
      ...run().slice(0, 4),
      { sequence: 5, kind: "EXECUTION_COMPLETE", at: at(5), status: "CANCELLED", totalDurationMs: 5 },
    ]);
    expect(live.nodes.a!.state).toBe("cancelled");
    expect(live.nodes.b!.state).toBe("cancelled");
    expect(live.status).toBe("cancelled");
  });

  it("drops an event it already holds, keeping the same state object", () => {
    const events = run();
    const live = applyEvents(initialLive(), events.slice(0, 5));
    expect(applyEvent(live, events[2]!)).toBe(live);
    expect(applyEvent(live, events[4]!)).toBe(live);
    expect(live.events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5]);
  });

  it("keeps an event that arrives after a gap and refills the gap in order", () => {
    const events = run();
    let live = applyEvents(initialLive(["start", "a"]), events.slice(0, 3));
    live = applyEvent(live, events[5]!); // 6 before 4 and 5
    expect(live.contiguous).toBe(3);
    expect(live.nodes.a!.state).toBe("running");
    live = applyEvents(live, [events[4]!, events[3]!]);
    expect(live.events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(live.contiguous).toBe(6);
    expect(live.nodes.a!).toMatchObject({ state: "running", attempts: 2 });
  });

  it("ends exactly right when a reconnection replays from the last contiguous sequence", () => {
    const events = run();
    // First connection delivers 1..5 and drops; the second replays after 5 but the server
    // also resends 4 and 5 (as a retrying transport would with its first variables).
    let live = applyEvents(initialLive(["start", "a"]), events.slice(0, 5));
    const resumeAfter = live.contiguous;
    expect(resumeAfter).toBe(5);
    live = applyEvents(live, [...events.slice(3), ...events.slice(resumeAfter)]);
    expect(live.events.map((e) => e.sequence)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(live.nodes.a!).toMatchObject({ state: "succeeded", attempts: 2, durationMs: 30 });
    expect(live.finished).toBe(true);
  });

  it("gives nodes added after the end the state the end decided", () => {
    const live = withNodes(applyEvents(initialLive(["start", "a"]), run()), ["start", "a", "late"]);
    expect(live.nodes.late!.state).toBe("skipped");
  });

  it("shows the time since the start while running and the final total after", () => {
    const live = applyEvents(initialLive(), run().slice(0, 2));
    expect(shownTotalMs(live, Date.parse(at(0)) + 500)).toBe(500);
    expect(shownTotalMs(applyEvents(live, run()), 0)).toBe(81);
  });
});
