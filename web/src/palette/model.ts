/**
 * What the palette shows: built-in node types and the user's tools as one list of entries,
 * grouped under the studio's fixed categories. The server's categories are free text for tools
 * and a short vocabulary for node types (`trigger`, `ai`, `logic`, …); this is the one place
 * that maps them onto the groups a user sees.
 */
export const GROUPS = ["Triggers", "Utility", "Data", "Transformation", "Validation", "Integration", "AI"] as const;

export interface PaletteEntry {
  /** Unique within the palette: `type:<nodeType>` or `tool:<uuid>`. */
  key: string;
  nodeType: string;
  /** The tool's uuid (what documents store in `config.toolId`), for custom tools. */
  toolUuid: string | null;
  /** The tool's global id (what the favourites API takes). */
  toolId: string | null;
  label: string;
  description: string;
  group: string;
  /** Icon name: the node type's icon, or the tool kind. */
  icon: string;
  toolKind: string | null;
}

const NODE_TYPE_GROUPS: Record<string, string> = {
  trigger: "Triggers",
  triggers: "Triggers",
  ai: "AI",
  data: "Data",
  logic: "Transformation",
  transformation: "Transformation",
  transform: "Transformation",
  integration: "Integration",
  validation: "Validation",
  output: "Utility",
  utility: "Utility",
  general: "Utility",
  tools: "Utility",
};

/** The group a server category belongs to; unknown categories get a group of their own. */
export function groupOf(category: string): string {
  const known = NODE_TYPE_GROUPS[category.trim().toLowerCase()];
  if (known) return known;
  const trimmed = category.trim();
  return trimmed ? trimmed.charAt(0).toUpperCase() + trimmed.slice(1) : "Utility";
}

const TYPE_LABELS: Record<string, string> = {
  trigger: "Trigger",
  "llm-agent": "LLM agent",
  "data-transform": "Data transform",
  condition: "Condition",
  "api-call": "API call",
  "web-search": "Web search",
  "database-query": "Database query",
  webhook: "Webhook",
  output: "Output",
};

export function typeLabel(nodeType: string): string {
  return (
    TYPE_LABELS[nodeType] ??
    nodeType
      .split(/[-_]/)
      .map((w, i) => (i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : w))
      .join(" ")
  );
}

export interface NodeTypeInfo {
  type: string;
  category: string;
  icon: string;
  description: string;
}

export interface ToolInfo {
  id: string;
  uuid: string;
  name: string;
  description: string;
  category: string;
  kind: string;
}

export function toolKindIcon(kind: string): string {
  return `tool-${kind.toLowerCase().replace(/_/g, "-")}`;
}

export function paletteEntries(nodeTypes: NodeTypeInfo[], tools: ToolInfo[]): PaletteEntry[] {
  const builtIns = nodeTypes
    .filter((t) => t.type !== "custom")
    .map(
      (t): PaletteEntry => ({
        key: `type:${t.type}`,
        nodeType: t.type,
        toolUuid: null,
        toolId: null,
        label: typeLabel(t.type),
        description: t.description,
        group: groupOf(t.category),
        icon: t.icon,
        toolKind: null,
      }),
    );
  const custom = tools.map(
    (t): PaletteEntry => ({
      key: `tool:${t.uuid}`,
      nodeType: "custom",
      toolUuid: t.uuid,
      toolId: t.id,
      label: t.name,
      description: t.description || `Custom ${t.kind.toLowerCase().replace(/_/g, " ")} tool`,
      group: groupOf(t.category),
      icon: toolKindIcon(t.kind),
      toolKind: t.kind,
    }),
  );
  return [...builtIns, ...custom];
}

/** Case-insensitive match on name, description, group and type. */
export function matches(entry: PaletteEntry, search: string): boolean {
  const q = search.trim().toLowerCase();
  if (!q) return true;
  return [entry.label, entry.description, entry.group, entry.nodeType].some((s) => s.toLowerCase().includes(q));
}

/** Groups in the fixed order, then any custom categories alphabetically; empty groups dropped. */
export function grouped(entries: PaletteEntry[]): { group: string; entries: PaletteEntry[] }[] {
  const byGroup = new Map<string, PaletteEntry[]>();
  for (const e of entries) {
    const list = byGroup.get(e.group) ?? [];
    list.push(e);
    byGroup.set(e.group, list);
  }
  const fixed: readonly string[] = GROUPS;
  const extra = [...byGroup.keys()].filter((g) => !fixed.includes(g)).sort();
  return [...fixed, ...extra]
    .filter((g) => byGroup.has(g))
    .map((group) => ({ group, entries: byGroup.get(group) ?? [] }));
}

export interface PaletteRef {
  nodeType: string;
  toolId?: string | null;
  tool?: { uuid: string } | null;
}

/** The entry a server-side favourite/recent reference points at, if still in the palette. */
export function entryFor(ref: PaletteRef, entries: PaletteEntry[]): PaletteEntry | undefined {
  if (ref.nodeType === "custom") {
    return entries.find(
      (e) => e.nodeType === "custom" && ((ref.tool && e.toolUuid === ref.tool.uuid) || (ref.toolId && e.toolId === ref.toolId)),
    );
  }
  return entries.find((e) => e.nodeType === ref.nodeType && e.toolUuid === null);
}
