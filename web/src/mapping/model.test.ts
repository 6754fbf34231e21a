import { describe, expect, it } from "vitest";
import {
  asBinding,
  bindingForPick,
  bindingsOf,
  describeBinding,
  jqPath,
  parseLiteral,
  sameJson,
  switchKind,
  templatePath,
  verdictFor,
  withBindings,
} from "./model";
import type { WorkflowDocument } from "../editor/document";

const doc: WorkflowDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger", name: "Start" },
    { id: "greet", type: "custom", name: "Greet", config: { toolId: "t1" }, inputs: { name: { ref: "start.output.name" } } },
  ],
  edges: [{ source: "start", target: "greet" }],
};

describe("bindings", () => {
  it("reads each of the four binding forms and ignores anything else", () => {
    expect(asBinding({ ref: "a.output" })).toEqual({ ref: "a.output" });
    expect(asBinding({ value: null })).toEqual({ value: null });
    expect(asBinding({ template: "x" })).toEqual({ template: "x" });
    expect(asBinding({ expr: ".x" })).toEqual({ expr: ".x" });
    expect(asBinding("a.output")).toBeNull();
    expect(asBinding({ other: 1 })).toBeNull();
  });

  it("replaces only the edited node's inputs and drops an empty inputs object", () => {
    const next = withBindings(doc, "greet", { name: { value: "Ada" } });
    expect(next.nodes[1]?.inputs).toEqual({ name: { value: "Ada" } });
    expect(next.nodes[0]).toBe(doc.nodes[0]);
    expect(withBindings(doc, "greet", {}).nodes[1]).not.toHaveProperty("inputs");
    expect(bindingsOf(doc.nodes[1])).toEqual({ name: { ref: "start.output.name" } });
  });

  it("describes a binding in one line", () => {
    expect(describeBinding({ ref: "a.output.b" })).toBe("← a.output.b");
    expect(describeBinding({ value: { n: 1 } })).toBe('= {"n":1}');
    expect(describeBinding(undefined)).toBe("not set");
  });
});

describe("verdicts", () => {
  const server = (binding: unknown, status: "OK" | "ERROR" | "UNCHECKED", reason: string | null = null) => ({
    binding,
    verdict: { status, reason },
  });

  it("shows the server's error with its reason when it checked the binding on screen", () => {
    const v = verdictFor(server({ ref: "a.output" }, "ERROR", "`a.output` is an object; `name` wants a string"), {
      ref: "a.output",
    });
    expect(v).toEqual({ attr: "error", text: "`a.output` is an object; `name` wants a string" });
  });

  it("shows ok and unchecked as the server says", () => {
    expect(verdictFor(server({ ref: "a.output.n" }, "OK"), { ref: "a.output.n" }).attr).toBe("ok");
    expect(verdictFor(server({ expr: ".x" }, "UNCHECKED"), { expr: ".x" }).attr).toBe("unchecked");
    expect(verdictFor(server(null, "UNCHECKED"), undefined).attr).toBe("unchecked");
  });

  it("says pending while the server's verdict is about another binding", () => {
    expect(verdictFor(server({ ref: "a.output" }, "ERROR", "no"), { ref: "a.output.name" }).attr).toBe("pending");
    expect(verdictFor(undefined, { ref: "a.output" }).attr).toBe("pending");
  });

  it("compares JSON regardless of key order", () => {
    expect(sameJson({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(sameJson([1], { 0: 1 })).toBe(false);
  });
});

describe("literal values", () => {
  it("keeps text as text for a string input, so nobody types quotes", () => {
    expect(parseLiteral("42", "string")).toBe("42");
    expect(parseLiteral("true", "string")).toBe("true");
  });

  it("reads JSON for other inputs and falls back to the text", () => {
    expect(parseLiteral("42", "integer")).toBe(42);
    expect(parseLiteral('{"a":1}', "object")).toEqual({ a: 1 });
    expect(parseLiteral("hello", "any")).toBe("hello");
    expect(parseLiteral("7", "string | number")).toBe(7);
  });
});

describe("paths and picks", () => {
  it("writes a ref as the jq path that reads the same value", () => {
    expect(jqPath("fetch.output.items.0.price")).toBe(".nodes.fetch.output.items[0].price");
    expect(jqPath("fetch.output.content-type")).toBe('.nodes.fetch.output["content-type"]');
    expect(jqPath("input.customer")).toBe(".input.customer");
  });

  it("writes a ref as a template expression", () => {
    expect(templatePath("fetch.output.items.0.price")).toBe("fetch.output.items[0].price");
  });

  it("binds a picked field as a ref, or appends it to a template being written", () => {
    expect(bindingForPick("a.output.x", undefined)).toEqual({ ref: "a.output.x" });
    expect(bindingForPick("a.output.x", { value: 3 })).toEqual({ ref: "a.output.x" });
    expect(bindingForPick("a.output.x", { template: "Hi " })).toEqual({ template: "Hi {{ a.output.x }}" });
    expect(bindingForPick("a.output.x", { expr: "" })).toEqual({ expr: ".nodes.a.output.x" });
  });

  it("carries a ref over when the user switches to a template or an expression", () => {
    expect(switchKind("template", { ref: "a.output.n" }, {})).toEqual({ template: "{{ a.output.n }}" });
    expect(switchKind("expr", { ref: "a.output.n" }, {})).toEqual({ expr: ".nodes.a.output.n" });
    expect(switchKind("value", undefined, { default: 5 })).toEqual({ value: 5 });
    expect(switchKind("none", { ref: "a.output" }, {})).toBeNull();
  });
});
