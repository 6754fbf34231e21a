import { describe, expect, it } from "vitest";
import { readFilters, toVariables, writeFilters } from "./filters";
import { rowWindow } from "./windowing";

describe("history filters in the URL", () => {
  it("round-trip and ignore what is not a filter", () => {
    const params = new URLSearchParams("status=FAILED&workflow=V29y&from=2026-12-01&to=2026-12-02&q=timeout&junk=1");
    const f = readFilters(params);
    expect(f).toEqual({ status: "FAILED", workflowId: "V29y", from: "2026-12-01", to: "2026-12-02", text: "timeout" });
    expect(writeFilters(f).toString()).toBe("status=FAILED&workflow=V29y&from=2026-12-01&to=2026-12-02&q=timeout");
  });

  it("drop an unknown status and a malformed date", () => {
    expect(readFilters(new URLSearchParams("status=BROKEN&from=yesterday"))).toMatchObject({ status: null, from: null });
  });

  it("cover the whole last day of the range", () => {
    const v = toVariables({ status: null, workflowId: null, from: "2026-12-01", to: "2026-12-01", text: null });
    expect(Date.parse(v.startedBefore!) - Date.parse(v.startedAfter!)).toBe(24 * 3600 * 1000);
  });
});

describe("the row window", () => {
  it("renders a bounded number of rows wherever the list is scrolled", () => {
    for (const top of [0, 3600, 3_600_000]) {
      const w = rowWindow(100_000, 36, top, 720);
      expect(w.end - w.start).toBeLessThanOrEqual(21 + 16);
      expect(w.padTop + (w.end - w.start) * 36 + w.padBottom).toBe(100_000 * 36);
    }
  });

  it("is empty for no rows and clamps past the end", () => {
    expect(rowWindow(0, 36, 0, 500)).toEqual({ start: 0, end: 0, padTop: 0, padBottom: 0 });
    const w = rowWindow(10, 36, 99_999, 500);
    expect(w.end).toBe(10);
    expect(w.start).toBeLessThan(10);
  });
});
