/**
 * Completion of upstream fields in the expression builder. The candidates are exactly the
 * server's field list (`nodeMapping.upstream[].fields`), written in each language's way of
 * reading them: `.nodes.fetch.output.items[0]` in jq, `fetch.output.items[0]` inside a
 * template's `{{ … }}`. The editor only offers what the type checker would resolve.
 */
import type { Completion, CompletionContext, CompletionResult, CompletionSource } from "@codemirror/autocomplete";
import { jqPath, templatePath } from "../mapping/model";

export type ExpressionKind = "expr" | "template";

export interface FieldInfo {
  ref: string;
  type: string;
  description?: string | null;
}

export function fieldOptions(kind: ExpressionKind, fields: FieldInfo[]): Completion[] {
  const options = fields.map(
    (f): Completion => ({
      label: kind === "expr" ? jqPath(f.ref) : templatePath(f.ref),
      detail: f.type,
      info: f.description ?? undefined,
      type: "property",
    }),
  );
  if (kind === "expr") options.push({ label: ".input", detail: "execution input", type: "variable" });
  else options.push({ label: "input", detail: "execution input", type: "variable" });
  return options;
}

/** Where the path being typed starts, or null when the cursor is not on a path. */
export function pathStart(kind: ExpressionKind, before: string): number | null {
  if (kind === "expr") {
    const m = /\.[A-Za-z0-9_.[\]"-]*$/.exec(before);
    return m ? before.length - m[0].length : null;
  }
  // Templates: only inside an open `{{ … }}` or `{% … %}`.
  const open = Math.max(before.lastIndexOf("{{"), before.lastIndexOf("{%"));
  const close = Math.max(before.lastIndexOf("}}"), before.lastIndexOf("%}"));
  if (open < 0 || close > open) return null;
  const m = /[A-Za-z_][A-Za-z0-9_.[\]"-]*$/.exec(before);
  return m ? before.length - m[0].length : before.length;
}

export function fieldCompletion(kind: ExpressionKind, fields: () => FieldInfo[]): CompletionSource {
  return (context: CompletionContext): CompletionResult | null => {
    const line = context.state.doc.lineAt(context.pos);
    const before = line.text.slice(0, context.pos - line.from);
    const start = pathStart(kind, before);
    if (start === null) return null;
    if (start === before.length && !context.explicit && kind === "expr") return null;
    return {
      from: line.from + start,
      options: fieldOptions(kind, fields()),
      validFor: /^[A-Za-z0-9_.[\]"-]*$/,
    };
  };
}
