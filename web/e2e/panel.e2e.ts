/**
 * The node configuration panel, the parameter mapping dialog and the expression builder end
 * to end, against a real `weft` in Debian's Chromium (studio-web's harness): configure a
 * node, map an object onto a string input and read the server's error and reason, see that
 * problem in the panel too, fix it, write a template with field completion and preview it
 * against a typed sample, save, and find all of it in the stored document after a reload.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import AxeBuilder from "@axe-core/playwright";
import type { Locator, Page } from "playwright-core";
import { screenshot, startBrowser, startWeft, type Browser, type Weft } from "./harness";

let weft: Weft;
let browser: Browser;
let page: Page;
let workflowId = "";
let toolUuid = "";
const previewAvailable = await (async () => {
  // Decided before the server starts: the binary's own schema says whether it has previewMapping.
  const { execFileSync } = await import("node:child_process");
  const { weftBinary } = await import("./harness");
  return execFileSync(weftBinary(), ["schema"], { encoding: "utf8" }).includes("previewMapping");
})();

const GREETER = {
  name: "Greeter",
  category: "Transformation",
  description: "Greets a person",
  kind: "CODE",
  inputSchema: {
    type: "object",
    properties: {
      name: { type: "string", description: "Who to greet" },
      greeting: { type: "string", enum: ["Hi", "Hello"], default: "Hi" },
      note: { type: "string", description: "A line added below the greeting" },
    },
    required: ["name"],
  },
  outputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
  config: {
    language: "javascript",
    source: 'export default function run(input) { return { message: `${input.greeting ?? "Hi"} ${input.name}` }; }',
    timeoutMs: 2000,
  },
};

function document(uuid: string) {
  return {
    version: 1,
    nodes: [
      {
        id: "start",
        type: "trigger",
        name: "Start",
        config: {
          inputSchema: {
            type: "object",
            properties: {
              person: { type: "object", properties: { name: { type: "string" }, age: { type: "integer" } }, required: ["name"] },
            },
            required: ["person"],
          },
        },
        position: { x: 0, y: 0 },
      },
      {
        id: "greet",
        type: "custom",
        name: "Greet",
        config: { toolId: uuid },
        inputs: { name: { value: "World" } },
        position: { x: 300, y: 0 },
      },
      { id: "out", type: "output", name: "Out", inputs: { value: { ref: "greet.output.message" } }, position: { x: 600, y: 0 } },
    ],
    edges: [
      { source: "start", target: "greet" },
      { source: "greet", target: "out" },
    ],
  };
}

const node = (id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);
const panel = () => page.getByRole("complementary", { name: "Node configuration" });
const dialog = () => page.getByRole("dialog", { name: "Parameter mapping" });
const inputRow = (name: string) => dialog().locator(`li[data-input="${name}"]`);

async function seriousViolations(where: string, selector: string) {
  const results = await new AxeBuilder({ page }).include(selector).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  return bad.map((v) => `${where}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

async function typeInto(editor: Locator, text: string) {
  await editor.click();
  await page.keyboard.press("Control+a");
  await page.keyboard.press("Delete");
  await page.keyboard.type(text);
}

beforeAll(async () => {
  weft = await startWeft();
  browser = await startBrowser();
  page = browser.page;
  const tool = await weft.gql<{ createTool: { uuid: string } }>(
    "mutation($i: CreateToolInput!) { createTool(input: $i) { uuid } }",
    { i: GREETER },
  );
  toolUuid = tool.createTool.uuid;
  const wf = await weft.gql<{ createWorkflow: { id: string } }>(
    "mutation($i: CreateWorkflowInput!) { createWorkflow(input: $i) { id } }",
    { i: { name: "Greeting a person", document: document(toolUuid) } },
  );
  workflowId = wf.createWorkflow.id;
});

afterAll(async () => {
  await browser?.close();
  await weft?.stop();
});

describe("node configuration, parameter mapping and expressions in Chromium against a real weft", () => {
  it("opens the panel for the selected node with the tool's inputs as a form", async () => {
    await page.goto(`${weft.baseUrl}/workflows/${encodeURIComponent(workflowId)}`);
    await page.getByLabel("API token").fill(weft.token);
    await page.getByRole("button", { name: "Sign in" }).click();
    await node("greet").waitFor();
    await node("greet").click();
    await panel().waitFor();
    expect(await panel().getByRole("textbox", { name: /^Name/ }).inputValue()).toBe("Greet");
    // The tool's enum is a select, its default a hint; `name` is a literal, so a field.
    expect(await panel().getByRole("combobox", { name: /^greeting/ }).count()).toBe(1);
    expect(await panel().getByRole("textbox", { name: /^name/ }).inputValue()).toBe("World");
    await screenshot(page, "panel-open");
    expect(await seriousViolations("panel", '[aria-label="Node configuration"]')).toEqual([]);
  });

  it("shows JSON Schema problems inline, and Cancel puts back what was there", async () => {
    const timeout = panel().getByRole("spinbutton", { name: /^Timeout/ });
    await timeout.fill("0");
    await panel().getByText(/must be >= 1/).waitFor();
    await panel().getByRole("textbox", { name: /^Name/ }).fill("Something else");
    await screenshot(page, "panel-inline-problem");
    await panel().getByRole("button", { name: "Cancel" }).click();
    expect(await panel().getByRole("textbox", { name: /^Name/ }).inputValue()).toBe("Greet");
    expect(await panel().getByRole("spinbutton", { name: /^Timeout/ }).inputValue()).toBe("");
    expect(await panel().getByText(/must be >= 1/).count()).toBe(0);
  });

  it("configures the node: name, a literal input from the tool's enum, a timeout", async () => {
    await panel().getByRole("textbox", { name: /^Name/ }).fill("Greet the person");
    await panel().getByRole("combobox", { name: /^greeting/ }).selectOption({ label: "Hello" });
    await panel().getByRole("spinbutton", { name: /^Timeout/ }).fill("5000");
  });

  it("maps an object onto a string input and shows the server's error with its reason", async () => {
    await panel().getByRole("button", { name: "Map inputs…" }).click();
    await dialog().waitFor();
    await inputRow("name").locator('[data-verdict="ok"]').waitFor();
    await inputRow("name").getByRole("button", { name: "Pick a field for name" }).click();
    await dialog().getByRole("button", { name: "start.output.person (object)" }).click();
    const verdict = inputRow("name").locator('[data-verdict="error"]');
    await verdict.waitFor();
    const reason = await verdict.textContent();
    expect(reason).toMatch(/object/);
    expect(reason).toMatch(/string/);
    await screenshot(page, "mapping-error");
    expect(await seriousViolations("mapping dialog", '[role="dialog"]')).toEqual([]);
  });

  it("shows the same problem next to the input in the panel once applied (from validateWorkflow)", async () => {
    await dialog().getByRole("button", { name: "Apply" }).click();
    await dialog().waitFor({ state: "detached" });
    const row = panel().locator('li[data-input="name"]');
    await row.getByText("← start.output.person").waitFor();
    await row.locator(".field-error").first().waitFor();
    expect(await row.locator(".field-error").first().textContent()).toMatch(/object/);
    await screenshot(page, "panel-server-problem");
  });

  it("fixes the mapping with a string field, dragged onto the input, and the verdict turns ok", async () => {
    await panel().getByRole("button", { name: "Map inputs…" }).click();
    await inputRow("name").locator('[data-verdict="error"]').waitFor();
    await dialog().getByRole("button", { name: "start.output.person.name (string)" }).dragTo(inputRow("name"));
    await inputRow("name").locator('[data-verdict="ok"]').waitFor();
    expect(await inputRow("name").getByRole("textbox", { name: "Upstream field for name" }).inputValue()).toBe(
      "start.output.person.name",
    );
    await screenshot(page, "mapping-ok");
  });

  it("writes a template with completion of upstream fields", async () => {
    await inputRow("note").getByRole("combobox", { name: "Source" }).selectOption("template");
    const editor = inputRow("note").getByRole("textbox", { name: "Template for note" });
    await typeInto(editor, "Age: {{ start.output.person.a");
    const option = page.locator(".cm-tooltip-autocomplete li", { hasText: "start.output.person.age" });
    await option.waitFor();
    await screenshot(page, "expression-completion");
    // The best match is selected first; Enter takes it.
    await page.keyboard.press("Enter");
    await page.keyboard.type(" }}");
    expect(await editor.textContent()).toBe("Age: {{ start.output.person.age }}");
  });

  // previewMapping lands from branch studio-api after nodeMapping; until the server has it,
  // this step has nothing to talk to.
  it.skipIf(!previewAvailable)("previews the template against a typed sample, with the engine's error", async () => {
    const editor = inputRow("note").getByRole("textbox", { name: "Template for note" });
    await inputRow("note").getByRole("radio", { name: "a sample I type" }).check();
    const sample = inputRow("note").getByRole("textbox", { name: /Sample upstream outputs for note/ });
    await sample.click();
    await page.keyboard.press("Control+a");
    await page.keyboard.insertText('{"start": {"person": {"name": "Ada", "age": 36}}}');
    const value = inputRow("note").getByTestId("preview-value");
    await value.filter({ hasText: "Age: 36" }).waitFor();
    await screenshot(page, "expression-preview");
    await typeInto(editor, "{{ start.output.person.email");
    await page.keyboard.press("Escape");
    await inputRow("note").getByTestId("preview-error").waitFor();
    expect(await inputRow("note").getByTestId("preview-error").textContent()).toMatch(/undefined|email/);
    await screenshot(page, "expression-preview-error");
    await typeInto(editor, "Age: {{ start.output.person.age }}");
    await page.keyboard.press("Escape");
    await value.filter({ hasText: "Age: 36" }).waitFor();
  });

  it("applies, saves the node and the workflow, and finds everything after a reload", async () => {
    await dialog().getByRole("button", { name: "Apply" }).click();
    await dialog().waitFor({ state: "detached" });
    await panel().getByRole("button", { name: "Save" }).click();
    await page.getByTestId("save-state").filter({ hasText: "Unsaved changes" }).waitFor();
    await page.getByRole("toolbar", { name: "Workflow" }).getByRole("button", { name: "Save", exact: true }).click();
    await page.getByTestId("save-state").filter({ hasText: "Saved · version 2" }).waitFor();
    const saved = await weft.gql<{ workflow: { document: { nodes: Record<string, unknown>[] } } }>(
      "query($id: ID!) { workflow(id: $id) { document } }",
      { id: workflowId },
    );
    const greet = saved.workflow.document.nodes.find((n) => n.id === "greet");
    expect(greet).toMatchObject({
      name: "Greet the person",
      timeoutMs: 5000,
      config: { toolId: toolUuid },
      inputs: {
        name: { ref: "start.output.person.name" },
        greeting: { value: "Hello" },
        note: { template: "Age: {{ start.output.person.age }}" },
      },
    });
    await page.reload();
    await node("greet").click();
    expect(await panel().getByRole("textbox", { name: /^Name/ }).inputValue()).toBe("Greet the person");
    await panel().locator('li[data-input="name"]').getByText("← start.output.person.name").waitFor();
    expect(await panel().locator(".field-error").count()).toBe(0);
    expect(await panel().getByRole("button", { name: "Save" }).isDisabled()).toBe(true);
    await screenshot(page, "panel-after-reload");
  });
});
