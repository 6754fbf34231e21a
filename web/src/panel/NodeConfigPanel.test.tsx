import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Client, Provider, type Exchange } from "urql";
import { filter, map, pipe } from "wonka";
import { NodeConfigPanel, type PanelNodeType } from "./NodeConfigPanel";
import type { WorkflowDocument } from "../editor/document";

// No server here: queries stay unanswered, so what these tests see is the form's own JSON
// Schema behaviour. The server's problems are placed by `placeProblems` (model.test.ts) and
// shown end to end against a real `weft` (e2e/panel.e2e.ts).
afterEach(cleanup);

const silent: Exchange = () => (ops$) =>
  pipe(
    ops$,
    filter(() => false),
    map((operation) => ({ operation, stale: false, hasNext: false })),
  );
const client = new Client({ url: "/graphql", exchanges: [silent] });

const webSearch: PanelNodeType = {
  type: "web-search",
  description: "Searches the web.",
  inputSchema: {
    type: "object",
    properties: { query: { type: "string", minLength: 1 }, count: { type: "integer", minimum: 1, maximum: 50 } },
    required: ["query"],
    additionalProperties: false,
  },
  configSchema: {
    type: "object",
    properties: {
      provider: { enum: ["searxng", "brave"], default: "searxng" },
      baseUrl: { type: "string", format: "uri" },
      count: { type: "integer", minimum: 1, maximum: 50, default: 10 },
    },
    additionalProperties: false,
  },
};
const custom: PanelNodeType = {
  type: "custom",
  inputSchema: { type: "object" },
  configSchema: {
    type: "object",
    properties: { toolId: { type: "string", minLength: 1 }, toolVersion: { type: "integer", minimum: 1 } },
    required: ["toolId"],
  },
};
const tools = [
  {
    uuid: "tool-1",
    name: "Greeter",
    inputSchema: {
      type: "object",
      properties: { name: { type: "string" }, greeting: { type: "string", enum: ["Hi", "Hello"] } },
      required: ["name"],
    },
  },
];

const document: WorkflowDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger", name: "Start" },
    { id: "search", type: "web-search", name: "Search", config: { provider: "brave" }, inputs: { query: { value: "weft" } } },
    { id: "greet", type: "custom", name: "Greet", config: { toolId: "tool-1" }, inputs: { name: { ref: "start.output.name" } } },
  ],
  edges: [],
};

function renderPanel(nodeId: string, onSave = vi.fn()) {
  render(
    <Provider value={client}>
      <NodeConfigPanel document={document} nodeId={nodeId} nodeTypes={[webSearch, custom]} tools={tools} onSave={onSave} />
    </Provider>,
  );
  return { panel: screen.getByRole("complementary", { name: "Node configuration" }), onSave };
}

describe("node configuration panel", () => {
  it("renders the node type's config schema: enums as selects, required marks, defaults as hints", () => {
    const { panel } = renderPanel("search");
    const provider = within(panel).getByRole("combobox", { name: /provider/ });
    expect(provider).toHaveValue("1"); // rjsf selects carry the enum index; "brave" is the second
    expect(within(provider).getAllByRole("option").map((o) => o.textContent)).toEqual(
      expect.arrayContaining(["searxng", "brave"]),
    );
    // `count` is both a config field and an input of web-search: one field each.
    expect(within(panel).getAllByRole("spinbutton", { name: /^count/ })).toHaveLength(2);
    const query = within(panel).getByRole("textbox", { name: /^query/ });
    expect(query).toHaveValue("weft");
    expect(query.closest(".form-group")?.querySelector(".required")).not.toBeNull();
    expect(within(panel).getAllByPlaceholderText("default: 10")).toHaveLength(1);
  });

  it("shows JSON Schema problems inline while typing and blocks Save until they are fixed", async () => {
    const user = userEvent.setup();
    const { panel, onSave } = renderPanel("search");
    const counts = within(panel).getAllByRole("spinbutton", { name: /^count/ });
    await user.type(counts[0]!, "99");
    expect(await within(panel).findByText(/must be <= 50/)).toBeInTheDocument();
    await user.click(within(panel).getByRole("button", { name: "Save" }));
    expect(onSave).not.toHaveBeenCalled();
    await user.clear(counts[0]!);
    await user.type(counts[0]!, "20");
    await user.click(within(panel).getByRole("button", { name: "Save" }));
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(onSave.mock.calls[0]?.[0]).toMatchObject({
      id: "search",
      config: { provider: "brave", count: 20 },
      inputs: { query: { value: "weft" } },
    });
  });

  it("Cancel puts back what was there", async () => {
    const user = userEvent.setup();
    const { panel, onSave } = renderPanel("search");
    const name = within(panel).getByRole("textbox", { name: /^Name/ });
    await user.clear(name);
    await user.type(name, "Find things");
    expect(within(panel).getByRole("textbox", { name: /^Name/ })).toHaveValue("Find things");
    await user.click(within(panel).getByRole("button", { name: "Cancel" }));
    expect(within(panel).getByRole("textbox", { name: /^Name/ })).toHaveValue("Search");
    expect(within(panel).getByRole("button", { name: "Save" })).toBeDisabled();
    expect(onSave).not.toHaveBeenCalled();
  });

  it("offers the user's tools for a custom node and its input schema for literal values", async () => {
    const user = userEvent.setup();
    const { panel, onSave } = renderPanel("greet");
    expect(within(panel).getByRole("combobox", { name: /^Tool/ })).toBeInTheDocument();
    // `name` is mapped, so it is listed, not offered as a literal field.
    expect(within(panel).queryByRole("textbox", { name: /^name/ })).toBeNull();
    expect(within(panel).getByText("← start.output.name")).toBeInTheDocument();
    await user.selectOptions(within(panel).getByRole("combobox", { name: /^greeting/ }), "Hello");
    await user.click(within(panel).getByRole("button", { name: "Save" }));
    expect(onSave.mock.calls[0]?.[0].inputs).toEqual({ name: { ref: "start.output.name" }, greeting: { value: "Hello" } });
  });

  it("marks a required input that is not set yet without blocking Save: it may be mapped instead", async () => {
    const user = userEvent.setup();
    const { panel, onSave } = renderPanel("search");
    const query = within(panel).getByRole("textbox", { name: /^query/ });
    expect(query.closest(".form-group")?.querySelector(".required")).not.toBeNull();
    await user.clear(query);
    await user.click(within(panel).getByRole("button", { name: "Save" }));
    expect(onSave).toHaveBeenCalledTimes(1);
    expect(onSave.mock.calls[0]?.[0]).not.toHaveProperty("inputs");
  });
});
