/**
 * The studio end to end, in the order a user meets it: sign in, find the tools made through
 * the API in the palette, star one, build trigger → tool → tool by drag and drop, save, reload,
 * run. Steps share one server and one browser and run in order; each saves a screenshot.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import AxeBuilder from "@axe-core/playwright";
import type { Locator, Page } from "playwright-core";
import { screenshot, startBrowser, startWeft, type Browser, type Weft } from "./harness";

let weft: Weft;
let browser: Browser;
let page: Page;
let shout: { id: string; uuid: string };
let count: { id: string; uuid: string };
let workflowPath = "";

const CREATE_TOOL = `mutation($i: CreateToolInput!) { createTool(input: $i) { id uuid } }`;

function codeTool(name: string, category: string, description: string, source: string) {
  return {
    name,
    category,
    description,
    kind: "CODE",
    inputSchema: { type: "object", properties: { text: { type: "string" } } },
    outputSchema: { type: "object" },
    config: { language: "javascript", source, timeoutMs: 2000 },
  };
}

const node = (id: string) => page.locator(`.react-flow__node[data-id="${id}"]`);

async function waitFor(condition: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 200; i++) {
    if (await condition()) return;
    await page.waitForTimeout(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function seriousViolations(where: string) {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  return bad.map((v) => `${where}: ${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

async function dragOntoCanvas(item: Locator, x: number, y: number) {
  await item.dragTo(page.locator(".react-flow__pane"), { targetPosition: { x, y } });
}

async function connect(source: string, handle: string, target: string) {
  const from = node(source).locator(`.react-flow__handle.source[data-handleid="${handle}"]`);
  const to = node(target).locator(".react-flow__handle.target");
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  if (!a || !b) throw new Error("handle not visible");
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

async function signIn(token: string) {
  await page.getByLabel("API token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
}

beforeAll(async () => {
  weft = await startWeft();
  browser = await startBrowser();
  page = browser.page;
  const a = await weft.gql<{ createTool: { id: string; uuid: string } }>(CREATE_TOOL, {
    i: codeTool(
      "Shout",
      "Transformation",
      "Upper-cases a text",
      'export default function run(input) { return { text: String(input.text ?? "hello weft").toUpperCase() }; }',
    ),
  });
  const b = await weft.gql<{ createTool: { id: string; uuid: string } }>(CREATE_TOOL, {
    i: codeTool(
      "Count letters",
      "Data",
      "Counts the letters of a text",
      'export default function run(input) { const t = String(input.text ?? "hello weft"); return { text: t, letters: t.replace(/[^a-z]/gi, "").length }; }',
    ),
  });
  shout = a.createTool;
  count = b.createTool;
});

afterAll(async () => {
  await browser?.close();
  await weft?.stop();
});

describe("Weft Studio in Chromium against a real weft", () => {
  it("sends a signed-out visitor to sign-in, refuses a wrong token and accepts the admin's", async () => {
    await page.goto(`${weft.baseUrl}/`);
    await page.getByLabel("API token").waitFor();
    expect(new URL(page.url()).pathname).toBe("/signin");
    await expect(page.getByText("printed by the server").count()).resolves.toBe(1);
    await signIn("weft_not_a_real_token_at_all_000000");
    await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
    await screenshot(page, "sign-in-refused");
    expect(await seriousViolations("sign-in")).toEqual([]);
    await signIn(weft.token);
    await page.getByRole("heading", { name: "Workflows" }).waitFor();
    expect(new URL(page.url()).pathname).toBe("/workflows");
    await screenshot(page, "workflow-list-empty");
  });

  it("opens the placeholder pages of parts 2 and 3 by deep link", async () => {
    for (const [path, heading] of [
      ["/executions", "Executions"],
      ["/executions/RXhlY3V0aW9uOjE", "Execution"],
      ["/tools", "Tools"],
      ["/templates", "Templates"],
    ] as const) {
      await page.goto(`${weft.baseUrl}${path}`);
      await page.getByRole("heading", { name: heading, exact: true }).waitFor();
      expect(new URL(page.url()).pathname).toBe(path);
    }
  });

  it("creates a workflow from the list and opens it in the editor", async () => {
    await page.goto(`${weft.baseUrl}/workflows`);
    await page.getByLabel("New workflow name").fill("Greeting");
    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.getByTestId("palette").waitFor();
    workflowPath = new URL(page.url()).pathname;
    expect(workflowPath).toMatch(/^\/workflows\/[A-Za-z0-9+/=_-]+$/);
    expect(await seriousViolations("editor")).toEqual([]);
  });

  it("lists both code tools in the palette under their category, with the code icon and the description as tooltip", async () => {
    const palette = page.getByTestId("palette");
    for (const [tool, group, description] of [
      [shout, "Transformation", "Upper-cases a text"],
      [count, "Data", "Counts the letters of a text"],
    ] as const) {
      const section = palette.locator("section", { has: page.getByRole("heading", { name: group, exact: true }) });
      const item = section.locator(`[data-testid="palette-item"][data-tool-id="${tool.uuid}"]`);
      await item.waitFor();
      expect(await item.getAttribute("data-node-type")).toBe("custom");
      expect(await item.getAttribute("title")).toBe(description);
      expect(await item.locator('[data-icon="tool-code"]').count()).toBe(1);
    }
    const trigger = palette.locator('[data-testid="palette-item"][data-node-type="trigger"]');
    expect(await trigger.locator('[data-icon="play"]').count()).toBe(1);
    await palette.getByLabel("Search the palette").fill("upper");
    expect(await palette.getByTestId("palette-item").count()).toBe(1);
    await palette.getByLabel("Search the palette").fill("");
    await screenshot(page, "palette");
  });

  it("keeps a starred tool under Favorites after a reload", async () => {
    await page.getByRole("button", { name: "Add Shout to favorites" }).click();
    const favorites = page.locator("section", { has: page.getByRole("heading", { name: "Favorites" }) });
    await favorites.locator(`[data-tool-id="${shout.uuid}"]`).waitFor();
    await page.reload();
    await favorites.locator(`[data-tool-id="${shout.uuid}"]`).waitFor();
    expect(await favorites.locator(`[data-tool-id="${count.uuid}"]`).count()).toBe(0);
    expect(await page.getByRole("button", { name: "Remove Shout from favorites" }).getAttribute("aria-pressed")).toBe("true");
    await screenshot(page, "favorites-after-reload");
  });

  it("builds trigger → Shout → Count letters by drag and drop, saves, and shows the same graph after a reload", async () => {
    const palette = page.getByTestId("palette");
    const groups = palette.locator("section").filter({ hasNot: page.getByRole("heading", { name: /Favorites|Recent/ }) });
    await dragOntoCanvas(groups.locator('[data-testid="palette-item"][data-node-type="trigger"]'), 200, 300);
    await node("trigger").waitFor();
    await dragOntoCanvas(groups.locator(`[data-tool-id="${shout.uuid}"]`), 520, 300);
    await node("shout").waitFor();
    await dragOntoCanvas(groups.locator(`[data-tool-id="${count.uuid}"]`), 840, 300);
    await node("count_letters").waitFor();
    expect(await node("trigger").getAttribute("data-state")).toBe("idle");
    await connect("trigger", "main", "shout");
    await connect("shout", "main", "count_letters");
    await waitFor(async () => (await page.locator(".react-flow__edge").count()) === 2, "two edges");
    const recent = palette.locator("section", { has: page.getByRole("heading", { name: "Recent" }) });
    await recent.locator(`[data-tool-id="${count.uuid}"]`).waitFor();
    await screenshot(page, "graph-built");

    await page.getByRole("button", { name: "Save", exact: true }).click();
    await page.getByTestId("save-state").filter({ hasText: "Saved · version 2" }).waitFor();
    const id = decodeURIComponent(workflowPath.split("/").pop() ?? "");
    const saved = await weft.gql<{ workflow: { document: { nodes: { id: string; type: string; config: unknown }[]; edges: unknown[] } } }>(
      "query($id: ID!) { workflow(id: $id) { document } }",
      { id },
    );
    expect(saved.workflow.document.nodes.map((n) => [n.id, n.type])).toEqual([
      ["trigger", "trigger"],
      ["shout", "custom"],
      ["count_letters", "custom"],
    ]);
    expect(saved.workflow.document.nodes[1]?.config).toEqual({ toolId: shout.uuid });
    expect(saved.workflow.document.edges).toEqual([
      { source: "trigger", target: "shout" },
      { source: "shout", target: "count_letters" },
    ]);

    await page.reload();
    await node("count_letters").waitFor();
    expect(await page.locator(".react-flow__node").count()).toBe(3);
    await waitFor(async () => (await page.locator(".react-flow__edge").count()) === 2, "two edges after reload");
    expect(await page.getByText("Restored your unsaved changes").count()).toBe(0);
    await screenshot(page, "graph-after-reload");
  });

  it("runs the workflow and shows its final status and output, and each node's state", async () => {
    await page.getByRole("button", { name: "Run…" }).click();
    const dialog = page.getByRole("dialog", { name: "Run workflow" });
    await dialog.getByLabel("Input (JSON)").fill('{"greeting": "hi"}');
    await dialog.getByRole("button", { name: "Start run" }).click();
    await dialog.getByTestId("run-result").waitFor({ timeout: 240_000 });
    expect(await dialog.locator(".status-succeeded").textContent()).toBe("succeeded");
    for (const id of ["trigger", "shout", "count_letters"]) expect(await node(id).getAttribute("data-state")).toBe("succeeded");
    await screenshot(page, "run-finished");
    const output = await dialog.getByTestId("run-output").textContent();
    await dialog.getByRole("button", { name: "Close" }).click();
    expect(output).toContain("HELLO WEFT");
  });

  it("adds a focused palette entry with Enter, shows the server's problems on it, and undoes the addition", async () => {
    const item = page.getByTestId("palette").locator('[data-testid="palette-item"][data-node-type="database-query"]').last();
    await item.focus();
    await page.keyboard.press("Enter");
    await node("database_query").waitFor();
    await node("database_query").locator(".problems li").first().waitFor();
    expect(await node("database_query").locator(".problems").textContent()).toMatch(/config/);
    await screenshot(page, "problems-on-node");
    await page.locator(".react-flow__pane").click({ position: { x: 40, y: 40 } });
    await page.keyboard.press("Control+z");
    await waitFor(async () => (await node("database_query").count()) === 0, "undo");
    await page.keyboard.press("Control+Shift+z");
    await node("database_query").waitFor();
    await page.keyboard.press("Control+z");
    await waitFor(async () => (await node("database_query").count()) === 0, "undo again");
  });

  it("says who saved in between and overwrites on request", async () => {
    const id = decodeURIComponent(workflowPath.split("/").pop() ?? "");
    await weft.gql("mutation($i: UpdateWorkflowInput!) { updateWorkflow(input: $i) { version } }", {
      i: { id, description: "edited elsewhere" },
    });
    await node("shout").click();
    await page.keyboard.press("Control+c");
    await page.keyboard.press("Control+v");
    await node("shout_2").waitFor();
    await page.getByRole("button", { name: "Save", exact: true }).click();
    const conflict = page.getByRole("alertdialog");
    await conflict.getByText(/saved version 3/).waitFor();
    await screenshot(page, "conflict");
    await conflict.getByRole("button", { name: "Overwrite with mine" }).click();
    await page.getByTestId("save-state").filter({ hasText: "Saved · version 4" }).waitFor();
  });

  it("returns to sign-in when the token is no longer valid and keeps the unsaved graph", async () => {
    await page.getByTestId("palette").locator('[data-testid="palette-item"][data-node-type="output"]').last().focus();
    await page.keyboard.press("Enter");
    await node("output").waitFor();
    await page.evaluate(() => localStorage.setItem("weft.token", "weft_expired_token_000000000000000000"));
    await page.reload();
    await page.getByLabel("API token").waitFor();
    expect(new URL(page.url()).searchParams.get("next")).toBe(workflowPath);
    await signIn(weft.token);
    await node("output").waitFor();
    await page.getByText("Restored your unsaved changes").waitFor();
    expect(new URL(page.url()).pathname).toBe(workflowPath);
    await screenshot(page, "draft-restored");
  });

  it("shows a banner while the server cannot be reached and recovers on retry", async () => {
    await page.goto(`${weft.baseUrl}/workflows`);
    await page.getByRole("link", { name: "Greeting" }).waitFor();
    await page.route("**/graphql", (route) => route.abort("connectionrefused"));
    await page.route("**/healthz", (route) => route.abort("connectionrefused"));
    await page.getByLabel("New workflow name").fill("Offline");
    await page.getByRole("button", { name: "Create workflow" }).click();
    await page.getByRole("alert").filter({ hasText: "cannot be reached" }).first().waitFor();
    await screenshot(page, "server-unreachable");
    await page.unroute("**/graphql");
    await page.unroute("**/healthz");
    await page.getByRole("button", { name: "Retry now" }).click();
    await waitFor(async () => (await page.getByRole("button", { name: "Retry now" }).count()) === 0, "banner to go");
    expect(await seriousViolations("workflow list")).toEqual([]);
  });
});
