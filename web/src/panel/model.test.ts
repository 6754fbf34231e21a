import { describe, expect, it } from "vitest";
import type { DocNode } from "../editor/document";
import { formDataOf, literalInputsSchema, nodeFromForm, panelSchema, pathSegments, placeProblems } from "./model";

const toolInput = {
  type: "object",
  properties: { greeting: { type: "string", default: "Hi" }, name: { type: "string" }, extra: {} },
  required: ["name", "greeting"],
};

const node: DocNode = {
  id: "greet",
  type: "custom",
  name: "Greet",
  config: { toolId: "t1" },
  inputs: { greeting: { value: "Hello" }, name: { ref: "start.output.name" } },
  retry: { maxAttempts: 3, backoffMs: 200 },
  position: { x: 10, y: 20 },
};

describe("panel form", () => {
  it("shows literal inputs only; a mapped input leaves the form and its required list", () => {
    const schema = literalInputsSchema(toolInput, { name: { ref: "start.output.name" } });
    expect(Object.keys((schema?.properties ?? {}) as object)).toEqual(["greeting", "extra"]);
    expect(schema?.required).toEqual(["greeting"]);
  });

  it("edits untyped values as JSON text and hints defaults", () => {
    const { uiSchema } = panelSchema({ type: "object", properties: { toolId: { type: "string" } } }, toolInput, {});
    expect(uiSchema.inputs.extra["ui:field"]).toBe("json");
    expect(uiSchema.inputs.greeting["ui:placeholder"]).toBe("default: Hi");
    expect(uiSchema.inputs.name["ui:field"]).toBeUndefined();
  });

  it("round-trips a node: what the panel does not edit stays as it was", () => {
    const data = formDataOf(node);
    expect(data).toEqual({
      name: "Greet",
      config: { toolId: "t1" },
      inputs: { greeting: "Hello" },
      retry: { maxAttempts: 3, backoffMs: 200 },
    });
    expect(nodeFromForm(node, data, { name: { ref: "start.output.name" } })).toEqual(node);
  });

  it("writes literal values as value bindings and drops emptied settings", () => {
    const next = nodeFromForm(
      node,
      { name: "G", config: { toolId: "t1", toolVersion: undefined }, inputs: { greeting: "Yo" }, retry: {} },
      { name: { ref: "start.output.name" } },
    );
    expect(next.inputs).toEqual({ name: { ref: "start.output.name" }, greeting: { value: "Yo" } });
    expect(next.config).toEqual({ toolId: "t1" });
    expect(next).not.toHaveProperty("retry");
    expect(next.position).toEqual({ x: 10, y: 20 });
  });
});

describe("server problems", () => {
  const { schema } = panelSchema(
    { type: "object", properties: { toolId: { type: "string" }, graphql: { type: "object", properties: { query: { type: "string" } } } } },
    toolInput,
    { name: { ref: "start.output.name" } },
  );
  const mapped = { name: { ref: "start.output.name" } };

  it("splits a path into form segments", () => {
    expect(pathSegments(".config.tools[0].id")).toEqual(["config", "tools", "0", "id"]);
  });

  it("pins each problem of the node at the field its path names", () => {
    const placed = placeProblems(
      [
        { path: "nodes[1].config.toolId", message: "unknown tool" },
        { path: "nodes[1].config.graphql.query", message: "empty query" },
        { path: "nodes[1].inputs.greeting", message: "greeting wants a string" },
        { path: "nodes[1].retry.maxAttempts", message: "at most 20" },
        { path: "nodes[1].name", message: "blank name" },
        { path: "nodes[0].config.cron", message: "another node's problem" },
        { path: "nodes[10].name", message: "not this node either" },
      ],
      1,
      schema,
      mapped,
    );
    expect(placed.extraErrors).toEqual({
      config: { toolId: { __errors: ["unknown tool"] }, graphql: { query: { __errors: ["empty query"] } } },
      inputs: { greeting: { __errors: ["greeting wants a string"] } },
      retry: { maxAttempts: { __errors: ["at most 20"] } },
      name: { __errors: ["blank name"] },
    });
    expect(placed.node).toEqual([]);
  });

  it("gives a mapped input's problem to its row and the rest to the node", () => {
    const placed = placeProblems(
      [
        { path: "nodes[1].inputs.name", message: "object is not a string" },
        { path: "nodes[1]", message: "unreachable node" },
        { path: "nodes[1].edges", message: "odd" },
        { path: "nodes[1].inputs.extra.deep", message: "deep" },
      ],
      1,
      schema,
      mapped,
    );
    expect(placed.byInput).toEqual({ name: ["object is not a string"] });
    expect(placed.node).toEqual(["unreachable node", "odd"]);
    expect(placed.extraErrors).toEqual({ inputs: { extra: { __errors: ["deep"] } } });
  });
});
