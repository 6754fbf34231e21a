/**
 * The node configuration panel: name, the node type's config form, literal input values
 * (the tool's input schema for a `custom` node), timeout and retry, all in one form generated
 * from JSON Schema (rjsf). JSON Schema problems show as the user types; the server's
 * `validateWorkflow` problems for the draft show at the field their path names. Nothing
 * reaches the canvas before Save; Cancel puts back what was there.
 */
import { useMemo, useState } from "react";
import { useQuery } from "urql";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import type { ErrorTransformer, RJSFSchema } from "@rjsf/utils";
import type { DocNode, WorkflowDocument } from "../editor/document";
import { MappingDialog } from "../mapping/MappingDialog";
import { bindingsOf, describeBinding, sameJson, type Bindings } from "../mapping/model";
import { PanelValidationQuery } from "../mapping/operations";
import { useDebounced, useLast } from "../mapping/useDebounced";
import { JsonField } from "./JsonField";
import "./panel.css";
import { formDataOf, nodeFromForm, panelSchema, placeProblems, type PanelFormData } from "./model";

export interface PanelNodeType {
  type: string;
  description?: string;
  configSchema: unknown;
  inputSchema: unknown;
}

export interface PanelTool {
  uuid: string;
  name: string;
  inputSchema: unknown;
}

export interface NodeConfigPanelProps {
  document: WorkflowDocument;
  nodeId: string;
  nodeTypes: PanelNodeType[];
  tools: PanelTool[];
  workflowId?: string;
  /** For viewers and runners: the form is shown but nothing can be changed. */
  readOnly?: boolean;
  /** Receives the edited node; the editor puts it into the document (and its undo history). */
  onSave: (node: DocNode) => void;
  onClose?: () => void;
}

const FIELDS = { json: JsonField };

/**
 * A required input left empty here may still be mapped in the dialog, so the form marks it
 * but does not block Save; the server's problem for it (`nodes[i].inputs.x`) shows inline.
 */
const keepMappableRequired: ErrorTransformer = (errors) =>
  errors.filter((e) => !(e.name === "required" && /^\.?inputs(\.|$)/.test(e.property ?? "")));

/** The parts of a node the panel edits; a moved node keeps the panel's draft. */
function editedKey(node: DocNode): string {
  const rest: Partial<DocNode> = { ...node };
  delete rest.position;
  return JSON.stringify(rest);
}

export function NodeConfigPanel(props: NodeConfigPanelProps) {
  const node = props.document.nodes.find((n) => n.id === props.nodeId);
  if (!node) return null;
  // A new node, or the node changed outside the panel (undo, paste): start from it again.
  return <PanelBody key={`${props.nodeId}:${editedKey(node)}`} {...props} node={node} />;
}

function withTools(configSchema: unknown, nodeType: string, tools: PanelTool[]): unknown {
  if (nodeType !== "custom" || tools.length === 0) return configSchema;
  const schema = configSchema as { properties?: Record<string, object> };
  const toolId = schema.properties?.toolId;
  if (!toolId) return configSchema;
  return {
    ...schema,
    properties: {
      ...schema.properties,
      toolId: { ...toolId, title: "Tool", oneOf: tools.map((t) => ({ const: t.uuid, title: t.name })) },
    },
  };
}

function PanelBody({ document, nodeId, nodeTypes, tools, workflowId, readOnly, onSave, onClose, node }: NodeConfigPanelProps & { node: DocNode }) {
  const index = document.nodes.findIndex((n) => n.id === nodeId);
  const nodeType = nodeTypes.find((t) => t.type === node.type);
  const [formData, setFormData] = useState<PanelFormData>(() => formDataOf(node));
  const [mapped, setMapped] = useState<Bindings>(() => bindingsOf(node));
  const [formKey, setFormKey] = useState(0);
  const [mappingOpen, setMappingOpen] = useState(false);

  const toolId = typeof formData.config?.toolId === "string" ? formData.config.toolId : undefined;
  const tool = node.type === "custom" ? tools.find((t) => t.uuid === toolId) : undefined;
  const inputSchema = node.type === "custom" ? tool?.inputSchema : nodeType?.inputSchema;
  const { schema, uiSchema } = useMemo(
    () => panelSchema(withTools(nodeType?.configSchema, node.type, tools), inputSchema, mapped),
    [nodeType, node.type, tools, inputSchema, mapped],
  );

  const draft = useMemo(() => nodeFromForm(node, formData, mapped), [node, formData, mapped]);
  const draftDocument = useMemo(
    () => ({ ...document, nodes: document.nodes.map((n) => (n.id === nodeId ? draft : n)) }),
    [document, nodeId, draft],
  );
  const settled = useDebounced(draftDocument);
  const [validation] = useQuery({ query: PanelValidationQuery, variables: { document: settled }, requestPolicy: "network-only" });
  const problems = useLast(validation.data?.validateWorkflow.problems);
  const placed = useMemo(() => placeProblems(problems ?? [], index, schema, mapped), [problems, index, schema, mapped]);
  // Key order differs between the server's document and the form's output; content decides.
  const dirty = !sameJson({ ...draft, position: null }, { ...node, position: null });

  const mappedInputs = Object.entries(mapped).filter(([, b]) => !("value" in b));

  const cancel = () => {
    setFormData(formDataOf(node));
    setMapped(bindingsOf(node));
    setFormKey((k) => k + 1);
  };

  const applyMapping = (bindings: Bindings) => {
    const literals: Record<string, unknown> = {};
    for (const [name, b] of Object.entries(bindings)) if ("value" in b) literals[name] = b.value;
    setMapped(bindings);
    setFormData((d) => {
      const next: PanelFormData = { ...d };
      if (Object.keys(literals).length > 0) next.inputs = literals;
      else delete next.inputs;
      return next;
    });
    setFormKey((k) => k + 1);
    setMappingOpen(false);
  };

  return (
    <aside className="side-panel node-panel" aria-label="Node configuration">
      <div className="panel-head">
        <h2>Node configuration</h2>
        {onClose && (
          <button type="button" className="close" aria-label="Close the node configuration" onClick={onClose}>
            ×
          </button>
        )}
      </div>
      <p className="muted">
        <code>{node.id}</code> · {node.type}
        {tool && <> · tool {tool.name}</>}
      </p>
      {nodeType?.description && <p className="muted">{nodeType.description}</p>}
      {!nodeType && <p className="field-error">The server has no node type “{node.type}”.</p>}
      {node.type === "custom" && toolId && !tool && (
        <p className="field-error">The tool {toolId} does not exist or is not visible to you.</p>
      )}
      {placed.node.length > 0 && (
        <ul className="node-problems" aria-label="Problems of this node">
          {placed.node.map((m) => (
            <li key={m} className="field-error">
              {m}
            </li>
          ))}
        </ul>
      )}
      <Form
        key={formKey}
        schema={schema as RJSFSchema}
        uiSchema={uiSchema}
        formData={formData}
        validator={validator}
        fields={FIELDS}
        liveValidate="onChange"
        showErrorList={false}
        extraErrors={placed.extraErrors}
        transformErrors={keepMappableRequired}
        noHtml5Validate
        disabled={readOnly}
        experimental_defaultFormStateBehavior={{ emptyObjectFields: "populateRequiredDefaults" }}
        onChange={(e) => setFormData(e.formData as PanelFormData)}
        onSubmit={(e) => onSave(nodeFromForm(node, e.formData as PanelFormData, mapped))}
      >
        <section className="mapped-inputs" aria-labelledby="mapped-inputs-title">
          <h3 id="mapped-inputs-title">Mapped inputs</h3>
          {mappedInputs.length === 0 ? (
            <p className="muted">No input reads an upstream field, a template or an expression.</p>
          ) : (
            <ul>
              {mappedInputs.map(([name, b]) => (
                <li key={name} data-input={name}>
                  <strong>{name}</strong> <code>{describeBinding(b)}</code>
                  {(placed.byInput[name] ?? []).map((m) => (
                    <p key={m} className="field-error">
                      {m}
                    </p>
                  ))}
                </li>
              ))}
            </ul>
          )}
          <button type="button" onClick={() => setMappingOpen(true)} disabled={readOnly}>
            Map inputs…
          </button>
        </section>
        <div className="panel-actions">
          <button type="button" onClick={cancel} disabled={!dirty}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={!dirty || readOnly}>
            Save
          </button>
        </div>
      </Form>
      {mappingOpen && (
        <MappingDialog
          document={draftDocument}
          nodeId={nodeId}
          workflowId={workflowId}
          onApply={applyMapping}
          onCancel={() => setMappingOpen(false)}
        />
      )}
    </aside>
  );
}
