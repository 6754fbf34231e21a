import { describe, expect, it } from "vitest";
import { parseSample, previewVariables, previewVerdict } from "./preview";

const document = { version: 1, nodes: [], edges: [] };

describe("preview variables", () => {
  it("sends the typed sample when the user chose one", () => {
    const v = previewVariables({ document, nodeId: "n", kind: "expr", text: ".nodes.a.output", sample: { a: { x: 1 } }, workflowId: "W1" });
    expect(v).toEqual({
      input: { document, nodeId: "n", binding: { expr: ".nodes.a.output" }, sample: { a: { x: 1 } } },
    });
  });

  it("asks for the last execution's outputs otherwise", () => {
    const v = previewVariables({ document, nodeId: "n", kind: "template", text: "Hi", sample: null, workflowId: "W1" });
    expect(v?.input).toEqual({ document, nodeId: "n", binding: { template: "Hi" }, workflowId: "W1" });
  });

  it("sends nothing for an empty expression or a sample that does not parse", () => {
    expect(previewVariables({ document, nodeId: "n", kind: "expr", text: "  ", sample: null })).toBeNull();
    expect(previewVariables({ document, nodeId: "n", kind: "expr", text: ".a", sample: undefined })).toBeNull();
  });

  it("accepts only a JSON object as a sample", () => {
    expect(parseSample('{"a": {"x": 1}}')).toEqual({ a: { x: 1 } });
    expect(parseSample("[1]")).toBeUndefined();
    expect(parseSample("{oops")).toBeUndefined();
  });

  it("reads the preview's verdict", () => {
    expect(previewVerdict({ status: "ERROR", reason: "wants a string" })).toEqual({ attr: "error", text: "wants a string" });
    expect(previewVerdict({ status: "OK" }).attr).toBe("ok");
  });
});
