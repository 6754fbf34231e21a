/**
 * What the expression builder sends to `previewMapping` and how it reads the answer. Kept
 * apart from the component so the variables (the binding, which sample) are tested directly.
 */
import type { WorkflowDocument } from "../editor/document";
import type { MappingVerdictStatus, PreviewMappingQueryVariables, SampleSource } from "../gql/graphql";
import type { ExpressionKind } from "./completion";

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The typed sample as `{ <nodeId>: <output> }`, or undefined when it is not one. */
export function parseSample(text: string): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return isObject(parsed) ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Variables for one preview, or null when there is nothing to evaluate yet (an empty
 * expression, or a typed sample that does not parse: the user sees why next to the editor).
 */
export function previewVariables(args: {
  document: WorkflowDocument;
  nodeId: string;
  kind: ExpressionKind;
  text: string;
  sample: Record<string, unknown> | undefined | null;
  workflowId?: string;
}): PreviewMappingQueryVariables | null {
  if (args.text.trim() === "") return null;
  if (args.sample === undefined) return null;
  const input: PreviewMappingQueryVariables["input"] = {
    document: args.document,
    nodeId: args.nodeId,
    binding: { [args.kind]: args.text },
  };
  if (args.sample !== null) input.sample = args.sample;
  else if (args.workflowId) input.workflowId = args.workflowId;
  return { input };
}

export function previewVerdict(verdict: { status: MappingVerdictStatus; reason?: string | null }): {
  attr: "ok" | "error" | "unchecked";
  text: string;
} {
  if (verdict.status === "OK") return { attr: "ok", text: verdict.reason ?? "The value fits the input" };
  if (verdict.status === "ERROR") return { attr: "error", text: verdict.reason ?? "The value does not fit the input" };
  return { attr: "unchecked", text: verdict.reason ?? "Not checked against the input's schema" };
}

export function sampleSourceText(source: SampleSource): string {
  switch (source) {
    case "USER_SAMPLE":
      return "Evaluated against your sample.";
    case "LAST_EXECUTION":
      return "Evaluated against the outputs of the last execution.";
    case "NONE":
      return "No sample and no execution yet: upstream outputs are empty.";
  }
}
