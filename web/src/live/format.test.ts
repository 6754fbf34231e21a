import { describe, expect, it } from "vitest";
import { formatDuration, logLine } from "./format";

describe("log lines", () => {
  it("say a retry and its wait", () => {
    const line = logLine({ sequence: 5, kind: "NODE_ERROR", at: "", nodeId: "a", nodeName: "Fetch", attempt: 1, willRetry: true, retryDelayMs: 40, error: "HTTP 503", errorCode: "HTTP_STATUS" });
    expect(line).toEqual({ sequence: 5, level: "warning", text: "Fetch (a) failed on attempt 1 [HTTP_STATUS]: HTTP 503 — retrying in 40 ms" });
  });

  it("say the last failure as an error", () => {
    expect(logLine({ sequence: 7, kind: "NODE_ERROR", at: "", nodeId: "a", attempt: 3, willRetry: false, error: "boom" }).level).toBe("error");
  });

  it("keep events of a kind the client does not know", () => {
    expect(logLine({ sequence: 9, kind: "LOG", at: "", nodeId: "code" }).text).toBe("LOG code");
  });

  it("read durations in the unit that fits", () => {
    expect(formatDuration(12)).toBe("12 ms");
    expect(formatDuration(1234)).toBe("1.23 s");
    expect(formatDuration(75_000)).toBe("1 min 15 s");
  });
});
