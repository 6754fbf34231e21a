/**
 * The GraphQL layer of the panel, the mapping dialog and the expression builder, checked
 * against the server's own SDL (`../schema.graphql`, plus the pending contract while it is
 * not merged): every operation validates, and the variables the studio builds are accepted by
 * the schema's input types, so a request never fails on its shape.
 */
import { describe, expect, it } from "vitest";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { buildASTSchema, concatAST, getVariableValues, type DocumentNode, parse, validate, type OperationDefinitionNode } from "graphql";
import { NodeMappingQuery, PanelValidationQuery, PreviewMappingQuery } from "./operations";
import { withBindings } from "./model";
import { previewVariables } from "../expression/preview";
import type { WorkflowDocument } from "../editor/document";

const sdl = ["../../../schema.graphql", "../../schema.pending.graphql"]
  .map((p) => resolve(import.meta.dirname, p))
  .filter((p) => existsSync(p))
  .map((p) => parse(readFileSync(p, "utf8")));
const schema = buildASTSchema(concatAST(sdl));

function variableErrors(doc: DocumentNode, variables: Record<string, unknown>): string[] {
  const op = doc.definitions[0] as OperationDefinitionNode;
  const result = getVariableValues(schema, op.variableDefinitions ?? [], variables);
  return "errors" in result && result.errors ? result.errors.map((e) => e.message) : [];
}

const document: WorkflowDocument = {
  version: 1,
  nodes: [
    { id: "start", type: "trigger", name: "Start" },
    { id: "out", type: "output", name: "Out" },
  ],
  edges: [{ source: "start", target: "out" }],
};

describe("mapping GraphQL", () => {
  it("every operation validates against the server's schema", () => {
    for (const op of [NodeMappingQuery, PreviewMappingQuery, PanelValidationQuery]) {
      expect(validate(schema, op).map((e) => e.message)).toEqual([]);
    }
  });

  it("the dialog's re-check sends a document and a node id the schema accepts", () => {
    const edited = withBindings(document, "out", { value: { ref: "start.output" } });
    expect(variableErrors(NodeMappingQuery, { document: edited, nodeId: "out" })).toEqual([]);
  });

  it("the preview's variables are a valid PreviewMappingInput, with a sample or a workflow id", () => {
    const withSample = previewVariables({ document, nodeId: "out", kind: "expr", text: ".nodes.start.output", sample: { start: { a: 1 } } });
    const withWorkflow = previewVariables({ document, nodeId: "out", kind: "template", text: "{{ start.output.a }}", sample: null, workflowId: "V29ya2Zsb3c6MQ==" });
    expect(variableErrors(PreviewMappingQuery, withSample ?? {})).toEqual([]);
    expect(variableErrors(PreviewMappingQuery, withWorkflow ?? {})).toEqual([]);
  });

  it("a preview without its binding is rejected by the schema, not sent half-built", () => {
    expect(variableErrors(PreviewMappingQuery, { input: { document, nodeId: "out" } })).not.toEqual([]);
  });
});
