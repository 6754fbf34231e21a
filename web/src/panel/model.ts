/**
 * The node configuration panel edits one node through a single JSON Schema form whose data
 * has the node's own shape (`name`, `config`, `inputs`, `retry`, `timeoutMs`). That choice
 * makes the server's problem paths (`nodes[3].config.cron`, `nodes[3].inputs.url`) land on the
 * form field they concern by dropping their `nodes[3].` prefix, with no table to keep in sync.
 *
 * `inputs` in the form holds literal values only (`{ value }` bindings and unbound inputs);
 * inputs bound to an upstream field, a template or an expression are edited in the mapping
 * dialog and listed by the panel, so the form never shows a binding as if it were a value.
 */
import type { ErrorSchema, RJSFSchema, UiSchema } from "@rjsf/utils";
import type { DocNode } from "../editor/document";
import { bindingsOf, type Binding, type Bindings } from "../mapping/model";
import type { Problem } from "../api/errors";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Bounds the server checks (domain/src/workflow/mod.rs), so the form says so before it does. */
export const NODE_LIMITS = { nameChars: 100, maxAttempts: 20, backoffMs: 3_600_000, timeoutMs: 86_400_000 };

export interface PanelFormData {
  name?: string;
  config?: Json;
  inputs?: Json;
  retry?: { maxAttempts?: number; backoffMs?: number };
  timeoutMs?: number;
}

/**
 * Whether the form can render `schema` with its own widgets; otherwise the value is edited as
 * JSON text (untyped values like `body`, type unions, free-form objects).
 */
function needsJsonField(schema: unknown): boolean {
  if (!isObject(schema)) return true;
  if (Array.isArray(schema.enum) || "const" in schema) return false;
  const t = schema.type;
  if (typeof t !== "string") return true;
  if (t === "object") {
    return !isObject(schema.properties) || Object.keys(schema.properties).length === 0;
  }
  if (t === "array") return !isObject(schema.items);
  return false;
}

function describeDefault(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** uiSchema for one object schema's properties: JSON fallbacks, selects, default hints. */
function propertiesUi(schema: unknown): UiSchema {
  const ui: UiSchema = {};
  if (!isObject(schema) || !isObject(schema.properties)) return ui;
  for (const [key, prop] of Object.entries(schema.properties)) {
    const entry: UiSchema = {};
    if (needsJsonField(prop)) entry["ui:field"] = "json";
    if (isObject(prop)) {
      if (isObject(prop.items) && Array.isArray(prop.items.enum) && prop.uniqueItems === true) {
        entry["ui:widget"] = "checkboxes";
      }
      if ("default" in prop) entry["ui:placeholder"] = `default: ${describeDefault(prop.default)}`;
    }
    ui[key] = entry;
  }
  return ui;
}

/** The input schema with the inputs bound to something other than a value taken out. */
export function literalInputsSchema(inputSchema: unknown, bindings: Bindings): Json | null {
  if (!isObject(inputSchema) || !isObject(inputSchema.properties)) return null;
  const mapped = new Set(Object.entries(bindings).filter(([, b]) => !("value" in b)).map(([name]) => name));
  const properties = Object.fromEntries(Object.entries(inputSchema.properties).filter(([name]) => !mapped.has(name)));
  if (Object.keys(properties).length === 0) return null;
  const required = Array.isArray(inputSchema.required)
    ? inputSchema.required.filter((r): r is string => typeof r === "string" && !mapped.has(r) && r in properties)
    : [];
  const out: Json = { type: "object", title: "Input values", properties };
  if (required.length > 0) out.required = required;
  if ("$defs" in inputSchema) out.$defs = inputSchema.$defs;
  if ("definitions" in inputSchema) out.definitions = inputSchema.definitions;
  return out;
}

/** The whole form: node settings, the type's config schema, literal input values. */
export function panelSchema(
  configSchema: unknown,
  inputSchema: unknown,
  bindings: Bindings,
): { schema: RJSFSchema; uiSchema: UiSchema } {
  const config: Json = isObject(configSchema) ? { ...configSchema, title: "Configuration" } : { type: "object" };
  const properties: Json = {
    name: { type: "string", title: "Name", minLength: 1, maxLength: NODE_LIMITS.nameChars },
  };
  const hasConfig = isObject(config.properties) && Object.keys(config.properties).length > 0;
  if (hasConfig) properties.config = config;
  const inputs = literalInputsSchema(inputSchema, bindings);
  if (inputs) properties.inputs = inputs;
  properties.timeoutMs = {
    type: "integer",
    title: "Timeout (ms)",
    description: "Per attempt; the server's default (300,000 ms) when empty.",
    minimum: 1,
    maximum: NODE_LIMITS.timeoutMs,
  };
  properties.retry = {
    type: "object",
    title: "Retry",
    description: "Retries network errors, timeouts, 408/429/5xx; never a 4xx or a mapping error.",
    properties: {
      maxAttempts: {
        type: "integer",
        title: "Attempts in total",
        description: "1 means no retry.",
        minimum: 1,
        maximum: NODE_LIMITS.maxAttempts,
      },
      backoffMs: {
        type: "integer",
        title: "Backoff (ms)",
        description: "Base delay before the second attempt; later ones grow exponentially.",
        minimum: 0,
        maximum: NODE_LIMITS.backoffMs,
      },
    },
    dependencies: { maxAttempts: ["backoffMs"], backoffMs: ["maxAttempts"] },
  };
  const uiSchema: UiSchema = {
    "ui:order": ["name", "config", "inputs", "timeoutMs", "retry", "*"],
    config: propertiesUi(config),
    inputs: inputs ? propertiesUi(inputs) : {},
  };
  return { schema: { type: "object", required: ["name"], properties } as RJSFSchema, uiSchema };
}

export function formDataOf(node: DocNode): PanelFormData {
  const literals: Json = {};
  for (const [name, b] of Object.entries(bindingsOf(node))) {
    if ("value" in b) literals[name] = b.value;
  }
  const data: PanelFormData = { name: typeof node.name === "string" ? node.name : "", config: { ...(node.config ?? {}) } };
  if (Object.keys(literals).length > 0) data.inputs = literals;
  if (isObject(node.retry)) data.retry = { ...(node.retry as PanelFormData["retry"]) };
  if (typeof node.timeoutMs === "number") data.timeoutMs = node.timeoutMs;
  return data;
}

function dropUndefined(o: Json): Json {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

/**
 * The node the form describes. `mapped` holds the non-literal bindings (from the node or the
 * mapping dialog); literal values from the form join them as `{ value }`. Fields the panel
 * does not edit (position, unknown future keys) are kept as they were.
 */
export function nodeFromForm(node: DocNode, data: PanelFormData, mapped: Bindings): DocNode {
  const next: DocNode = { ...node, name: data.name ?? "" };
  const config = dropUndefined(data.config ?? {});
  if (Object.keys(config).length > 0 || node.config !== undefined) next.config = config;
  const inputs: Record<string, Binding> = {};
  for (const [name, b] of Object.entries(mapped)) if (!("value" in b)) inputs[name] = b;
  for (const [name, value] of Object.entries(data.inputs ?? {})) {
    if (value !== undefined && !(name in inputs)) inputs[name] = { value };
  }
  if (Object.keys(inputs).length > 0) next.inputs = inputs;
  else delete next.inputs;
  const retry = data.retry ? dropUndefined(data.retry) : {};
  if (Object.keys(retry).length > 0) next.retry = retry;
  else delete next.retry;
  if (typeof data.timeoutMs === "number") next.timeoutMs = data.timeoutMs;
  else delete next.timeoutMs;
  return next;
}

export interface PlacedProblems {
  /** rjsf `extraErrors`: problems pinned to a field of the form. */
  extraErrors: ErrorSchema;
  /** Problems of inputs the dialog edits, by input name. */
  byInput: Record<string, string[]>;
  /** Problems of the node with no field to show them at. */
  node: string[];
}

/** `config.tools[0]` → `["config", "tools", "0"]`. */
export function pathSegments(path: string): string[] {
  return path
    .replace(/\[(\d+)\]/g, ".$1")
    .split(".")
    .filter((s) => s !== "");
}

function pin(errors: ErrorSchema, segments: string[], message: string): void {
  let at = errors as Record<string, unknown>;
  for (const seg of segments) {
    const next = (at[seg] as Record<string, unknown> | undefined) ?? {};
    at[seg] = next;
    at = next;
  }
  const list = (at.__errors as string[] | undefined) ?? [];
  list.push(message);
  at.__errors = list;
}

/**
 * Sorts `validateWorkflow` problems of node `index` onto the form, the mapped inputs or the
 * node as a whole. `schema` is the form schema: a problem is pinned only where a field is
 * shown, so nothing the server says is ever hidden.
 */
export function placeProblems(problems: Problem[], index: number, schema: RJSFSchema, mapped: Bindings): PlacedProblems {
  const out: PlacedProblems = { extraErrors: {}, byInput: {}, node: [] };
  const prefix = `nodes[${index}]`;
  const props = (schema.properties ?? {}) as Record<string, Json>;
  for (const p of problems) {
    if (p.path !== prefix && !p.path.startsWith(`${prefix}.`)) continue;
    const segments = pathSegments(p.path.slice(prefix.length));
    const [head, second] = segments;
    if (head === "inputs" && second !== undefined && mapped[second] && !("value" in mapped[second])) {
      (out.byInput[second] ??= []).push(p.message);
      continue;
    }
    const section = head ? props[head] : undefined;
    if (!head || !section) {
      out.node.push(p.message);
      continue;
    }
    // Pin as deep as the schema shows fields; deeper parts (array items, JSON fields) go to
    // the closest field shown.
    const kept: string[] = [head];
    let at: unknown = section;
    for (const seg of segments.slice(1)) {
      const next = isObject(at) && isObject(at.properties) ? at.properties[seg] : undefined;
      if (next === undefined) break;
      kept.push(seg);
      at = next;
    }
    pin(out.extraErrors, kept, p.message);
  }
  return out;
}
