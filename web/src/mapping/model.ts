/**
 * The mapping dialog's logic, kept apart from React so it can be tested on its own: what kind
 * of binding an input has, how a binding reads in one line, which verdict a row shows, and the
 * document the server re-checks after each edit. The studio never judges a mapping itself;
 * it only decides whether the server's verdict still belongs to the binding on screen.
 */
import type { DocNode, WorkflowDocument } from "../editor/document";
import type { MappingVerdictStatus } from "../gql/graphql";

export type Binding = { ref: string } | { value: unknown } | { template: string } | { expr: string };
export type BindingKind = "ref" | "value" | "template" | "expr" | "none";

/** The bindings being edited, by input name; an input left out is unbound. */
export type Bindings = Record<string, Binding>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Reads a binding as the server stores it; anything else counts as unbound. */
export function asBinding(raw: unknown): Binding | null {
  if (!isObject(raw)) return null;
  if (typeof raw.ref === "string") return { ref: raw.ref };
  if (typeof raw.template === "string") return { template: raw.template };
  if (typeof raw.expr === "string") return { expr: raw.expr };
  if ("value" in raw) return { value: raw.value };
  return null;
}

export function bindingKind(binding: Binding | null | undefined): BindingKind {
  if (!binding) return "none";
  if ("ref" in binding) return "ref";
  if ("template" in binding) return "template";
  if ("expr" in binding) return "expr";
  return "value";
}

/** One line for the panel and the dialog: `← fetch.output.items`, `= "text"`, … */
export function describeBinding(binding: Binding | null | undefined): string {
  if (!binding) return "not set";
  if ("ref" in binding) return `← ${binding.ref}`;
  if ("template" in binding) return `template ${binding.template}`;
  if ("expr" in binding) return `jq ${binding.expr}`;
  return `= ${JSON.stringify(binding.value)}`;
}

/** The bindings of a document node, ignoring malformed entries (the server reports those). */
export function bindingsOf(node: DocNode | undefined): Bindings {
  const out: Bindings = {};
  if (!node || !isObject(node.inputs)) return out;
  for (const [name, raw] of Object.entries(node.inputs)) {
    const b = asBinding(raw);
    if (b) out[name] = b;
  }
  return out;
}

/** `document` with node `nodeId`'s inputs replaced by `bindings`: what the server checks. */
export function withBindings(document: WorkflowDocument, nodeId: string, bindings: Bindings): WorkflowDocument {
  return {
    ...document,
    nodes: document.nodes.map((n) => {
      if (n.id !== nodeId) return n;
      const next: DocNode = { ...n, inputs: { ...bindings } };
      if (Object.keys(bindings).length === 0) delete next.inputs;
      return next;
    }),
  };
}

/** Deep equality of JSON values, key order ignored (the server may reorder object keys). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return false;
}

/** What a verdict element carries in `data-verdict`. */
export type VerdictAttr = "ok" | "error" | "unchecked" | "pending";

/**
 * The verdict to show for an input. The server's verdict holds only for the binding it
 * checked; while the binding on screen differs (an edit whose re-check is in flight) the row
 * says "pending" rather than show a verdict about something else.
 */
export function verdictFor(
  server: { binding: unknown; verdict: { status: MappingVerdictStatus; reason: string | null } } | undefined,
  local: Binding | undefined,
): { attr: VerdictAttr; text: string } {
  if (!server || !sameJson(asBinding(server.binding), local ?? null)) {
    return { attr: "pending", text: "Checking…" };
  }
  const { status, reason } = server.verdict;
  if (status === "OK") return { attr: "ok", text: reason ? `Types fit: ${reason}` : "Types fit" };
  if (status === "ERROR") return { attr: "error", text: reason ?? "The server rejects this mapping" };
  return { attr: "unchecked", text: reason ?? "Checked when the workflow runs" };
}

/**
 * Reads what the user typed as a literal value: JSON when it parses and the input does not
 * want a plain string, the text itself otherwise. `"42"` for a string input stays the text
 * `42`, so nobody has to type quotes around text.
 */
export function parseLiteral(text: string, targetType: string): unknown {
  const wantsString = /(^|\W)string(\W|$)/.test(targetType) && !/(^|\W)(object|array|number|integer|boolean)(\W|$)/.test(targetType);
  if (wantsString) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The inverse of [`parseLiteral`]: the text field's content for a stored value. */
export function literalText(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

/** A new binding of `kind` for an input, carrying over what makes sense from the old one. */
export function switchKind(
  kind: BindingKind,
  previous: Binding | undefined,
  input: { default?: unknown },
): Binding | null {
  switch (kind) {
    case "none":
      return null;
    case "ref":
      return previous && "ref" in previous ? previous : { ref: "" };
    case "value":
      return previous && "value" in previous ? previous : { value: input.default ?? "" };
    case "template":
      if (previous && "template" in previous) return previous;
      return { template: previous && "ref" in previous && previous.ref ? `{{ ${previous.ref} }}` : "" };
    case "expr":
      if (previous && "expr" in previous) return previous;
      return { expr: previous && "ref" in previous && previous.ref ? jqPath(previous.ref) : "" };
  }
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A `ref` (`fetch.output.items.0.price`) as the jq path that reads the same value. */
export function jqPath(ref: string): string {
  const [root, ...rest] = ref.split(".");
  const head = root === "input" ? ".input" : `.nodes${IDENT.test(root ?? "") ? `.${root}` : `[${JSON.stringify(root)}]`}`;
  return (
    head +
    rest
      .map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : IDENT.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`))
      .join("")
  );
}

/** A `ref` as the template expression that reads the same value (`fetch.output.items[0]`). */
export function templatePath(ref: string): string {
  const [root, ...rest] = ref.split(".");
  return (
    (root ?? "") +
    rest.map((seg) => (/^\d+$/.test(seg) ? `[${seg}]` : IDENT.test(seg) ? `.${seg}` : `[${JSON.stringify(seg)}]`)).join("")
  );
}

/** Binding for a field the user picked, in the input's current kind. */
export function bindingForPick(ref: string, current: Binding | undefined): Binding {
  if (current && "template" in current) {
    return { template: `${current.template}{{ ${templatePath(ref)} }}` };
  }
  if (current && "expr" in current && current.expr.trim() === "") return { expr: jqPath(ref) };
  return { ref };
}
