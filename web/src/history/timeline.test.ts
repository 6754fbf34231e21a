import { describe, expect, it } from "vitest";
import { layoutTimeline, previewJson } from "./timeline";

const at = (ms: number) => new Date(Date.UTC(2026, 11, 2, 10, 0, 0, ms)).toISOString();

describe("the timeline layout", () => {
  it("draws retries as separate bars with the wait between them", () => {
    const { lanes, bars, spanMs } = layoutTimeline(
      [
        { nodeId: "start", attempt: 1, status: "succeeded", startedAt: at(0), finishedAt: at(10) },
        { nodeId: "a", attempt: 1, status: "failed", startedAt: at(10), finishedAt: at(30) },
        { nodeId: "a", attempt: 2, status: "succeeded", startedAt: at(70), finishedAt: at(100) },
        { nodeId: "b", attempt: 0, status: "skipped", startedAt: at(100), finishedAt: at(100) },
      ],
      0,
    );
    expect(spanMs).toBe(100);
    expect(lanes).toEqual(["start", "a"]);
    const a = bars.filter((b) => b.nodeId === "a");
    expect(a.map((b) => [b.kind, b.left, b.width])).toEqual([
      ["attempt", 0.1, 0.2],
      ["wait", 0.3, 0.4],
      ["attempt", 0.7, 0.3],
    ]);
  });

  it("runs a bar that has not finished up to now", () => {
    const { bars } = layoutTimeline([{ nodeId: "a", attempt: 1, status: "running", startedAt: at(0), finishedAt: null }], Date.parse(at(50)));
    expect(bars[0]).toMatchObject({ left: 0, width: 1, ms: 50 });
  });
});

describe("JSON previews", () => {
  it("cut a large value and say its whole size", () => {
    const big = { items: Array.from({ length: 5000 }, (_, i) => i) };
    const p = previewJson(big, 1000);
    expect(p.cut).toBe(true);
    expect(p.text.length).toBe(1000);
    expect(p.size).toBe(JSON.stringify(big, null, 2).length);
    expect(previewJson({ a: 1 }).cut).toBe(false);
  });
});
