import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { LogPanel } from "./LogPanel";
import { applyEvents, initialLive } from "./reducer";

describe("the log panel", () => {
  it("is a region named Execution log with one entry per sequence even when events repeat", () => {
    const events = [
      { sequence: 1, kind: "EXECUTION_START", at: "2026-12-02T10:00:00Z" },
      { sequence: 2, kind: "NODE_START", at: "2026-12-02T10:00:00Z", nodeId: "a", attempt: 1 },
      { sequence: 3, kind: "NODE_ERROR", at: "2026-12-02T10:00:01Z", nodeId: "a", attempt: 1, willRetry: true, retryDelayMs: 250, error: "HTTP 503" },
    ];
    const live = applyEvents(initialLive(), [...events, events[1]!, events[2]!]);
    render(<LogPanel events={live.events} />);
    const region = screen.getByRole("region", { name: "Execution log" });
    const items = within(region).getAllByRole("listitem");
    expect(items.map((li) => li.getAttribute("data-sequence"))).toEqual(["1", "2", "3"]);
    expect(items[2]).toHaveTextContent("a failed on attempt 1: HTTP 503 — retrying in 250 ms");
  });
});
