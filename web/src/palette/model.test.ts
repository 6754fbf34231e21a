import { describe, expect, it } from "vitest";
import { entryFor, grouped, groupOf, matches, paletteEntries } from "./model";

const nodeTypes = [
  { type: "trigger", category: "trigger", icon: "play", description: "Starts the workflow" },
  { type: "condition", category: "logic", icon: "git-branch", description: "Branches" },
  { type: "custom", category: "tools", icon: "puzzle", description: "A custom tool" },
  { type: "llm-agent", category: "ai", icon: "bot", description: "Asks a model" },
];
const tools = [
  { id: "VG9vbDox", uuid: "u-1", name: "Slugify", description: "Makes slugs", category: "transformation", kind: "CODE" },
  { id: "VG9vbDoy", uuid: "u-2", name: "Check email", description: "", category: "Validation", kind: "API" },
  { id: "VG9vbDoz", uuid: "u-3", name: "Weather", description: "Forecast", category: "weather", kind: "DATABASE_QUERY" },
];

describe("the palette model", () => {
  it("maps the server's categories onto the studio's groups case-insensitively", () => {
    expect(groupOf("trigger")).toBe("Triggers");
    expect(groupOf("AI")).toBe("AI");
    expect(groupOf("general")).toBe("Utility");
    expect(groupOf("Validation")).toBe("Validation");
    expect(groupOf("weather")).toBe("Weather");
  });

  it("lists built-in node types except custom, and every tool with its kind's icon and uuid", () => {
    const entries = paletteEntries(nodeTypes, tools);
    expect(entries.map((e) => e.key)).toEqual([
      "type:trigger",
      "type:condition",
      "type:llm-agent",
      "tool:u-1",
      "tool:u-2",
      "tool:u-3",
    ]);
    const slugify = entries.find((e) => e.toolUuid === "u-1");
    expect(slugify).toMatchObject({ nodeType: "custom", icon: "tool-code", group: "Transformation", toolId: "VG9vbDox" });
    expect(entries.find((e) => e.toolUuid === "u-3")?.icon).toBe("tool-database-query");
    expect(entries.find((e) => e.toolUuid === "u-2")?.description).toBe("Custom api tool");
  });

  it("orders groups as the studio does, with unknown categories last", () => {
    const groups = grouped(paletteEntries(nodeTypes, tools)).map((g) => g.group);
    expect(groups).toEqual(["Triggers", "Transformation", "Validation", "AI", "Weather"]);
  });

  it("searches names, descriptions and groups", () => {
    const entries = paletteEntries(nodeTypes, tools);
    expect(entries.filter((e) => matches(e, "slug")).map((e) => e.label)).toEqual(["Slugify"]);
    expect(entries.filter((e) => matches(e, "FORECAST")).map((e) => e.label)).toEqual(["Weather"]);
    expect(entries.filter((e) => matches(e, "  ")).length).toBe(entries.length);
  });

  it("finds the entry of a favourite by tool uuid or global id, and not a deleted tool", () => {
    const entries = paletteEntries(nodeTypes, tools);
    expect(entryFor({ nodeType: "custom", toolId: "VG9vbDoy", tool: { uuid: "u-2" } }, entries)?.label).toBe("Check email");
    expect(entryFor({ nodeType: "custom", toolId: "VG9vbDoz", tool: null }, entries)?.label).toBe("Weather");
    expect(entryFor({ nodeType: "custom", toolId: "gone", tool: null }, entries)).toBeUndefined();
    expect(entryFor({ nodeType: "condition" }, entries)?.label).toBe("Condition");
  });
});
