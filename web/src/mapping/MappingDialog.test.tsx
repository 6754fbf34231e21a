import { afterEach, describe, expect, it, vi } from "vitest";
import { useState } from "react";
import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { Client, Provider, type Exchange } from "urql";
import { filter, map, pipe } from "wonka";
import { MappingDialogView } from "./MappingDialog";
import { withBindings, type Bindings } from "./model";
import type { NodeMappingQuery } from "../gql/graphql";
import type { WorkflowDocument } from "../editor/document";

afterEach(cleanup);

// The view is given the server's answer as a prop, as the dialog does after each re-check;
// nothing here evaluates a verdict. (Previews stay unanswered: no server in unit tests.)
const silent: Exchange = () => (ops$) =>
  pipe(
    ops$,
    filter(() => false),
    map((operation) => ({ operation, stale: false, hasNext: false })),
  );
const client = new Client({ url: "/graphql", exchanges: [silent] });

type Mapping = NodeMappingQuery["nodeMapping"];

const document: WorkflowDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger", name: "Start" },
    { id: "greet", type: "custom", name: "Greet", config: { toolId: "t" } },
  ],
  edges: [{ source: "start", target: "greet" }],
};

function mappingFor(bindings: Bindings, verdicts: Record<string, Mapping["inputs"][number]["verdict"]>): Mapping {
  return {
    nodeId: "greet",
    inputs: [
      {
        name: "name",
        schema: { type: "string" },
        required: true,
        default: null,
        description: "Who to greet",
        binding: bindings.name ?? null,
        sourceType: bindings.name && "ref" in bindings.name ? "object" : null,
        targetType: "string",
        verdict: verdicts.name ?? { status: "ERROR", reason: "required input `name` is not bound", path: "nodes[1].inputs.name" },
      },
      {
        name: "greeting",
        schema: { type: "string", default: "Hi" },
        required: false,
        default: "Hi",
        description: null,
        binding: bindings.greeting ?? null,
        sourceType: null,
        targetType: "string",
        verdict: verdicts.greeting ?? { status: "UNCHECKED", reason: null, path: null },
      },
    ],
    upstream: [
      {
        nodeId: "start",
        nodeName: "Start",
        nodeType: "trigger",
        fields: [
          { ref: "start.output", name: "output", type: "object", depth: 0, description: null },
          { ref: "start.output.person", name: "person", type: "object", depth: 1, description: "The person" },
          { ref: "start.output.person.name", name: "name", type: "string", depth: 2, description: null },
        ],
      },
    ],
    problems: [],
  };
}

function Harness(props: { mapping: (b: Bindings) => Mapping; onApply?: (b: Bindings) => void; onCancel?: () => void }) {
  const [bindings, setBindings] = useState<Bindings>({});
  return (
    <Provider value={client}>
      <MappingDialogView
        nodeName="Greet"
        nodeId="greet"
        mapping={props.mapping(bindings)}
        error={null}
        bindings={bindings}
        setBindings={setBindings}
        edited={withBindings(document, "greet", bindings)}
        onApply={() => props.onApply?.(bindings)}
        onCancel={props.onCancel ?? (() => {})}
      />
    </Provider>
  );
}

const row = (name: string) => screen.getByRole("dialog", { name: "Parameter mapping" }).querySelector<HTMLElement>(`li[data-input="${name}"]`)!;
const verdictOf = (name: string) => row(name).querySelector("[data-verdict]")!;

describe("parameter mapping dialog", () => {
  it("lists each input with its type, required mark, default and the server's verdict", () => {
    render(<Harness mapping={(b) => mappingFor(b, {})} />);
    const dialog = screen.getByRole("dialog", { name: "Parameter mapping" });
    expect(within(row("name")).getByText("string")).toBeInTheDocument();
    expect(within(row("name")).getByTitle("required")).toBeInTheDocument();
    expect(within(row("greeting")).queryByTitle("required")).toBeNull();
    expect(within(row("greeting")).getByText('"Hi"')).toBeInTheDocument();
    expect(verdictOf("name")).toHaveAttribute("data-verdict", "error");
    expect(verdictOf("name")).toHaveTextContent("required input `name` is not bound");
    expect(verdictOf("greeting")).toHaveAttribute("data-verdict", "unchecked");
    expect(within(dialog).getByRole("button", { name: "start.output.person.name (string)" }).parentElement).toHaveStyle({
      paddingLeft: "28px",
    });
  });

  it("binds a clicked field as a ref and shows no verdict until the server has checked that binding", async () => {
    const user = userEvent.setup();
    // The server has not answered for the new binding yet: it still reports the old one.
    const { rerender } = render(<Harness mapping={() => mappingFor({}, {})} />);
    await user.click(screen.getByRole("button", { name: "start.output.person (object)" }));
    expect(within(row("name")).getByRole("textbox", { name: "Upstream field for name" })).toHaveValue("start.output.person");
    expect(verdictOf("name")).toHaveAttribute("data-verdict", "pending");
    // Its answer for the new binding arrives.
    rerender(
      <Harness
        mapping={(b) =>
          mappingFor(b, {
            name: { status: "ERROR", reason: "`start.output.person` is an object; input `name` wants a string", path: "nodes[1].inputs.name" },
          })
        }
      />,
    );
    expect(verdictOf("name")).toHaveAttribute("data-verdict", "error");
    expect(verdictOf("name")).toHaveTextContent("is an object; input `name` wants a string");
  });

  it("shows the server's error with its reason, then ok once a fitting field is picked", async () => {
    const user = userEvent.setup();
    const reason = "`start.output.person` is an object; input `name` wants a string";
    render(
      <Harness
        mapping={(b) =>
          mappingFor(b, {
            name:
              b.name && "ref" in b.name && b.name.ref === "start.output.person"
                ? { status: "ERROR", reason, path: "nodes[1].inputs.name" }
                : { status: "OK", reason: null, path: null },
          })
        }
      />,
    );
    await user.click(screen.getByRole("button", { name: "start.output.person (object)" }));
    expect(verdictOf("name")).toHaveAttribute("data-verdict", "error");
    expect(verdictOf("name")).toHaveTextContent(reason);
    await user.click(screen.getByRole("button", { name: "start.output.person.name (string)" }));
    expect(verdictOf("name")).toHaveAttribute("data-verdict", "ok");
  });

  it("works from the keyboard: choose the input, then the field", async () => {
    const user = userEvent.setup();
    const onApply = vi.fn();
    render(<Harness mapping={(b) => mappingFor(b, {})} onApply={onApply} />);
    const pickFor = within(row("greeting")).getByRole("button", { name: /Pick a field for greeting/ });
    pickFor.focus();
    await user.keyboard("{Enter}");
    expect(pickFor).toHaveAttribute("aria-pressed", "true");
    screen.getByRole("button", { name: "start.output.person.name (string)" }).focus();
    await user.keyboard("{Enter}");
    screen.getByRole("button", { name: "Apply" }).focus();
    await user.keyboard("{Enter}");
    expect(onApply).toHaveBeenCalledWith({ greeting: { ref: "start.output.person.name" } });
  });

  it("binds a field dropped onto an input", () => {
    render(<Harness mapping={(b) => mappingFor(b, {})} />);
    const dataTransfer = { types: ["application/x-weft-ref"], getData: () => "start.output.person.name" };
    fireEvent.dragOver(row("greeting"), { dataTransfer });
    fireEvent.drop(row("greeting"), { dataTransfer });
    expect(within(row("greeting")).getByRole("textbox", { name: "Upstream field for greeting" })).toHaveValue(
      "start.output.person.name",
    );
  });

  it("sets a literal, uses the default, and Escape cancels", async () => {
    const user = userEvent.setup();
    const onCancel = vi.fn();
    const onApply = vi.fn();
    render(<Harness mapping={(b) => mappingFor(b, {})} onApply={onApply} onCancel={onCancel} />);
    await user.click(within(row("greeting")).getByRole("button", { name: /Use default/ }));
    expect(within(row("greeting")).getByRole("textbox", { name: "Value of greeting" })).toHaveValue("Hi");
    await user.selectOptions(within(row("name")).getByRole("combobox", { name: "Source" }), "value");
    await user.type(within(row("name")).getByRole("textbox", { name: "Value of name" }), "42");
    await user.click(screen.getByRole("button", { name: "Apply" }));
    expect(onApply).toHaveBeenCalledWith({ greeting: { value: "Hi" }, name: { value: "42" } });
    await user.keyboard("{Escape}");
    expect(onCancel).toHaveBeenCalled();
  });
});
