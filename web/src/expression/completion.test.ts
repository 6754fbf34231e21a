import { describe, expect, it } from "vitest";
import { EditorState } from "@codemirror/state";
import { CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { fieldCompletion, fieldOptions, pathStart } from "./completion";

const fields = [
  { ref: "fetch.output", type: "object" },
  { ref: "fetch.output.items", type: "array", description: "Order lines" },
  { ref: "fetch.output.items.0.price", type: "number" },
];

function complete(kind: "expr" | "template", text: string, explicit = false): CompletionResult | null {
  const state = EditorState.create({ doc: text });
  const source = fieldCompletion(kind, () => fields);
  return source(new CompletionContext(state, text.length, explicit)) as CompletionResult | null;
}

describe("field completion", () => {
  it("offers jq paths under .nodes for an expression", () => {
    expect(fieldOptions("expr", fields).map((o) => o.label)).toEqual([
      ".nodes.fetch.output",
      ".nodes.fetch.output.items",
      ".nodes.fetch.output.items[0].price",
      ".input",
    ]);
  });

  it("offers template paths and shows each field's type", () => {
    const options = fieldOptions("template", fields);
    expect(options[2]).toMatchObject({ label: "fetch.output.items[0].price", detail: "number" });
    expect(options[1]?.info).toBe("Order lines");
  });

  it("completes a jq path from where it starts", () => {
    const result = complete("expr", ".nodes.fetch.output.items | map(.nodes.fe");
    expect(result?.from).toBe(".nodes.fetch.output.items | map(".length);
    expect(result?.options.map((o) => o.label)).toContain(".nodes.fetch.output.items");
  });

  it("completes inside a template's braces only", () => {
    expect(complete("template", "Hello fe")).toBeNull();
    const inside = complete("template", "Hello {{ fe");
    expect(inside?.from).toBe("Hello {{ ".length);
    expect(complete("template", "Hello {{ x }} fe")).toBeNull();
  });

  it("finds where the typed path begins", () => {
    expect(pathStart("expr", "map(.pri")).toBe(4);
    expect(pathStart("expr", "1 + ")).toBeNull();
    expect(pathStart("template", "{{ ")).toBe(3);
  });
});
