import { describe, expect, it } from "vitest";
import { duplicate, newNodeId, parseDocument, schemaDefaults, toDocument, toFlow } from "./document";
import { push, redo, start, undo } from "./history";

const saved = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger", name: "Start", config: { kind: "manual" }, position: { x: 0, y: 0 } },
    {
      id: "check",
      type: "condition",
      name: "Big?",
      config: { expr: ". > 100" },
      inputs: { value: { ref: "start.output.total" } },
      retry: { maxAttempts: 3 },
      position: { x: 240, y: 0 },
    },
  ],
  edges: [
    { source: "start", target: "check" },
    { source: "check", sourceHandle: "true", target: "start" },
  ],
};

describe("the workflow document on the canvas", () => {
  it("round-trips a saved document without changing what the canvas does not show", () => {
    const { nodes, edges } = toFlow(parseDocument(saved));
    expect(toDocument(nodes, edges)).toEqual(saved);
  });

  it("gives nodes without a stored position a grid position and stores it on save", () => {
    const { nodes, edges } = toFlow(parseDocument({ version: 1, nodes: [{ id: "a", type: "trigger" }, { id: "b", type: "output" }], edges: [] }));
    expect(nodes.map((n) => n.position)).toEqual([
      { x: 0, y: 0 },
      { x: 260, y: 0 },
    ]);
    expect(toDocument(nodes, edges).nodes[1]?.position).toEqual({ x: 260, y: 0 });
  });

  it("reads a malformed document as an empty graph instead of failing", () => {
    expect(parseDocument("nope")).toEqual({ version: 1, nodes: [], edges: [] });
    expect(parseDocument({ nodes: [{ id: 3 }], edges: "x" }).nodes).toEqual([]);
  });

  it("makes node ids the server accepts, unique among those taken", () => {
    expect(newNodeId("Fetch orders!", [])).toBe("fetch_orders");
    expect(newNodeId("Fetch orders", ["fetch_orders", "fetch_orders_2"])).toBe("fetch_orders_3");
    expect(newNodeId("123", [])).toBe("n_123");
    expect(newNodeId("llm-agent", [])).toBe("llm_agent");
  });

  it("takes the defaults of a config schema's properties", () => {
    expect(schemaDefaults({ type: "object", properties: { kind: { default: "manual" }, cron: { type: "string" } } })).toEqual({
      kind: "manual",
    });
    expect(schemaDefaults(true)).toEqual({});
  });

  it("pastes copies with fresh ids, the edges among them, and refs following the copies", () => {
    const { nodes, edges } = toFlow(parseDocument(saved));
    const copy = duplicate(nodes, edges, nodes.map((n) => n.id), { x: 40, y: 40 });
    expect(copy.nodes.map((n) => n.id)).toEqual(["start_2", "check_2"]);
    expect(copy.nodes[1]?.data.doc.inputs).toEqual({ value: { ref: "start_2.output.total" } });
    expect(copy.nodes[1]?.position).toEqual({ x: 280, y: 40 });
    expect(copy.edges.map((e) => [e.source, e.sourceHandle, e.target])).toEqual([
      ["start_2", "main", "check_2"],
      ["check_2", "true", "start_2"],
    ]);
  });
});

describe("undo and redo", () => {
  const same = (a: number, b: number) => a === b;
  it("steps back and forth and forgets the future on a new change", () => {
    let h = start(1);
    h = push(h, 2, same);
    h = push(h, 3, same);
    h = undo(h);
    expect(h.present).toBe(2);
    h = redo(h);
    expect(h.present).toBe(3);
    h = undo(undo(h));
    expect(h.present).toBe(1);
    h = push(h, 9, same);
    expect(redo(h).present).toBe(9);
    expect(undo(h).present).toBe(1);
  });

  it("does not record a change that changes nothing, and stops at the ends", () => {
    let h = start(1);
    h = push(h, 1, same);
    expect(h.past).toEqual([]);
    expect(undo(h)).toBe(h);
    expect(redo(h)).toBe(h);
  });
});
