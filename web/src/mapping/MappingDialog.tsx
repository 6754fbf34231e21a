/**
 * The parameter mapping dialog: every input of one node with its schema, default, binding and
 * the server's verdict, next to the upstream outputs as a tree. Picking a field (click, Enter,
 * or drag onto an input) binds it as `{ ref }`; the edited document goes back to
 * `nodeMapping` after a short pause, so the verdict on screen is always the save-time
 * checker's. Apply hands the bindings to the panel; Cancel and Escape drop them.
 */
import { useEffect, useMemo, useRef, useState, type DragEvent, type KeyboardEvent } from "react";
import { useQuery } from "urql";
import type { WorkflowDocument } from "../editor/document";
import { ExpressionBuilder } from "../expression/ExpressionBuilder";
import type { NodeMappingQuery } from "../gql/graphql";
import { NodeMappingQuery as NodeMappingDoc } from "./operations";
import {
  bindingForPick,
  bindingKind,
  bindingsOf,
  literalText,
  parseLiteral,
  switchKind,
  verdictFor,
  withBindings,
  type Binding,
  type BindingKind,
  type Bindings,
} from "./model";
import { useDebounced, useLast } from "./useDebounced";
import "../panel/panel.css";

type Mapping = NodeMappingQuery["nodeMapping"];
type InputRow = Mapping["inputs"][number];

export interface MappingDialogProps {
  document: WorkflowDocument;
  nodeId: string;
  workflowId?: string;
  onApply: (bindings: Bindings) => void;
  onCancel: () => void;
}

const REF_MIME = "application/x-weft-ref";

const KIND_LABELS: Record<BindingKind, string> = {
  none: "Not set",
  ref: "Upstream field",
  value: "Value",
  template: "Template",
  expr: "jq expression",
};

function focusables(root: HTMLElement): HTMLElement[] {
  return Array.from(
    root.querySelectorAll<HTMLElement>(
      'button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), [contenteditable="true"], [tabindex]:not([tabindex="-1"])',
    ),
  );
}

export function MappingDialog({ document, nodeId, workflowId, onApply, onCancel }: MappingDialogProps) {
  const node = document.nodes.find((n) => n.id === nodeId);
  const [bindings, setBindings] = useState<Bindings>(() => bindingsOf(node));
  const edited = useMemo(() => withBindings(document, nodeId, bindings), [document, nodeId, bindings]);
  const settled = useDebounced(edited);
  const [result] = useQuery({
    query: NodeMappingDoc,
    variables: { document: settled, nodeId },
    requestPolicy: "network-only",
  });
  const mapping = useLast(result.data?.nodeMapping);
  return (
    <MappingDialogView
      nodeName={node?.name || nodeId}
      nodeId={nodeId}
      workflowId={workflowId}
      mapping={mapping}
      error={result.error && !mapping ? result.error.message : null}
      bindings={bindings}
      setBindings={setBindings}
      edited={edited}
      onApply={() => onApply(bindings)}
      onCancel={onCancel}
    />
  );
}

export interface MappingDialogViewProps {
  nodeName: string;
  nodeId: string;
  workflowId?: string;
  /** The server's answer for the bindings last sent (undefined until the first one). */
  mapping: Mapping | undefined;
  error: string | null;
  bindings: Bindings;
  setBindings: (update: (prev: Bindings) => Bindings) => void;
  /** The document with `bindings`, for the expression previews. */
  edited: WorkflowDocument;
  onApply: () => void;
  onCancel: () => void;
}

/** The dialog itself, given the server's answer: what the tests drive directly. */
export function MappingDialogView(props: MappingDialogViewProps) {
  const { nodeName, nodeId, workflowId, mapping, error, bindings, setBindings, edited, onApply, onCancel } = props;
  const [target, setTarget] = useState<string | null>(null);
  const inputs = mapping?.inputs ?? [];
  // A problem an input's verdict already shows is not repeated below the inputs.
  const shown = new Set(inputs.filter((i) => i.verdict.status === "ERROR").map((i) => i.verdict.reason));
  const otherProblems = (mapping?.problems ?? []).filter((p) => !shown.has(p.message));
  const activeTarget = target ?? inputs[0]?.name ?? null;

  const dialogRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const opener = window.document.activeElement as HTMLElement | null;
    dialogRef.current?.querySelector<HTMLElement>("h2")?.focus();
    return () => opener?.focus();
  }, []);

  const set = (name: string, binding: Binding | null) =>
    setBindings((prev) => {
      const next = { ...prev };
      if (binding) next[name] = binding;
      else delete next[name];
      return next;
    });
  const pick = (name: string, ref: string) => set(name, bindingForPick(ref, bindings[name]));

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === "Escape") {
      // An open completion list takes Escape first: CodeMirror has already closed it (and
      // removed it from the page) by the time the key bubbles here, so ask whether it
      // handled the key rather than whether the list is still open.
      if (e.defaultPrevented) return;
      e.stopPropagation();
      onCancel();
    } else if (e.key === "Tab" && dialogRef.current) {
      const all = focusables(dialogRef.current);
      const first = all[0];
      const last = all[all.length - 1];
      if (e.shiftKey && window.document.activeElement === first) {
        e.preventDefault();
        last?.focus();
      } else if (!e.shiftKey && window.document.activeElement === last) {
        e.preventDefault();
        first?.focus();
      }
    }
  };

  const fields = useMemo(() => (mapping?.upstream ?? []).flatMap((u) => u.fields), [mapping]);
  const upstreamIds = useMemo(() => (mapping?.upstream ?? []).map((u) => u.nodeId), [mapping]);

  return (
    <div className="dialog-backdrop">
      <div
        ref={dialogRef}
        className="dialog mapping-dialog"
        role="dialog"
        aria-modal="true"
        aria-label="Parameter mapping"
        onKeyDown={onKeyDown}
      >
        <h2 tabIndex={-1}>
          Parameter mapping
        </h2>
        <p className="muted">
          Inputs of <strong>{nodeName}</strong> (<code>{nodeId}</code>). Pick an upstream field for the
          selected input, or drag it onto any input; the server checks every change.
        </p>
        {error && <p className="field-error">{error}</p>}
        {!mapping && !error && <p className="muted">Loading the inputs…</p>}
        {mapping && (
          <div className="mapping-columns">
            <UpstreamTree upstream={mapping.upstream} target={activeTarget} onPick={(ref) => activeTarget && pick(activeTarget, ref)} />
            <section className="mapping-inputs" aria-labelledby="mapping-inputs-title">
              <h3 id="mapping-inputs-title">Inputs</h3>
              {inputs.length === 0 && <p className="muted">This node takes no inputs.</p>}
              <ul>
                {inputs.map((input) => (
                  <InputEditor
                    key={input.name}
                    input={input}
                    binding={bindings[input.name]}
                    isTarget={activeTarget === input.name}
                    onTarget={() => setTarget(input.name)}
                    onChange={(b) => set(input.name, b)}
                    onDropRef={(ref) => {
                      setTarget(input.name);
                      pick(input.name, ref);
                    }}
                    expression={{ document: edited, nodeId, fields, upstreamIds, workflowId }}
                  />
                ))}
              </ul>
              {otherProblems.length > 0 && (
                <div className="node-problems">
                  <h4>Other problems of this node</h4>
                  <ul>
                    {otherProblems.map((p) => (
                      <li key={`${p.path}:${p.message}`} className="field-error">
                        <code>{p.path}</code>: {p.message}
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </section>
          </div>
        )}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
          <button type="button" className="primary" onClick={onApply}>
            Apply
          </button>
        </div>
      </div>
    </div>
  );
}

function UpstreamTree({
  upstream,
  target,
  onPick,
}: {
  upstream: Mapping["upstream"];
  target: string | null;
  onPick: (ref: string) => void;
}) {
  return (
    <section className="upstream-tree" aria-labelledby="upstream-title">
      <h3 id="upstream-title">Upstream outputs</h3>
      <p className="muted">
        {target ? (
          <>
            Picking for <strong>{target}</strong>
          </>
        ) : (
          "Select an input first"
        )}
      </p>
      {upstream.length === 0 && <p className="muted">No node runs before this one: connect one to map its output.</p>}
      {upstream.map((u) => (
        <div key={u.nodeId} className="upstream-node">
          <h4>
            {u.nodeName} <code>{u.nodeId}</code>
          </h4>
          <ul>
            {u.fields.map((f) => (
              <li key={f.ref} style={{ paddingLeft: `${f.depth * 14}px` }}>
                <button
                  type="button"
                  className="field-pick"
                  draggable
                  disabled={!target}
                  data-ref={f.ref}
                  title={f.description ?? f.ref}
                  aria-label={`${f.ref} (${f.type})`}
                  onClick={() => onPick(f.ref)}
                  onDragStart={(e) => {
                    e.dataTransfer.setData(REF_MIME, f.ref);
                    e.dataTransfer.setData("text/plain", f.ref);
                    e.dataTransfer.effectAllowed = "link";
                  }}
                >
                  <span className="field-name">{f.name}</span> <span className="field-type">{f.type}</span>
                </button>
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}

interface InputEditorProps {
  input: InputRow;
  binding: Binding | undefined;
  isTarget: boolean;
  onTarget: () => void;
  onChange: (b: Binding | null) => void;
  onDropRef: (ref: string) => void;
  expression: {
    document: WorkflowDocument;
    nodeId: string;
    fields: Mapping["upstream"][number]["fields"];
    upstreamIds: string[];
    workflowId?: string;
  };
}

function InputEditor({ input, binding, isTarget, onTarget, onChange, onDropRef, expression }: InputEditorProps) {
  const [over, setOver] = useState(false);
  const kind = bindingKind(binding);
  const verdict = verdictFor(input, binding);
  const id = `mapping-input-${input.name}`;
  const onDrop = (e: DragEvent) => {
    const ref = e.dataTransfer.getData(REF_MIME);
    setOver(false);
    if (ref) {
      e.preventDefault();
      onDropRef(ref);
    }
  };
  return (
    <li
      className={`mapping-input${isTarget ? " is-target" : ""}${over ? " drop-over" : ""}`}
      data-input={input.name}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes(REF_MIME)) {
          e.preventDefault();
          setOver(true);
        }
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <div className="input-head">
        <span className="input-name" id={`${id}-name`}>
          {input.name}
        </span>
        {input.required && (
          <span className="required" title="required">
            * <span className="visually-hidden">required</span>
          </span>
        )}
        <code className="input-type">{input.targetType}</code>
        <button
          type="button"
          className="pick-target"
          aria-pressed={isTarget}
          aria-label={`Pick a field for ${input.name}`}
          onClick={onTarget}
        >
          Pick a field
        </button>
      </div>
      {input.description && <p className="muted input-description">{input.description}</p>}
      {input.default !== null && input.default !== undefined && (
        <p className="muted">
          Default: <code>{JSON.stringify(input.default)}</code>
        </p>
      )}
      <div className="binding-row">
        <label htmlFor={`${id}-kind`}>Source</label>
        <select
          id={`${id}-kind`}
          value={kind}
          onChange={(e) => onChange(switchKind(e.target.value as BindingKind, binding, { default: input.default ?? undefined }))}
        >
          {(Object.keys(KIND_LABELS) as BindingKind[]).map((k) => (
            <option key={k} value={k}>
              {KIND_LABELS[k]}
            </option>
          ))}
        </select>
        {binding && "ref" in binding && (
          <input
            aria-label={`Upstream field for ${input.name}`}
            className="ref-input"
            value={binding.ref}
            placeholder="node.output.field"
            onChange={(e) => onChange({ ref: e.target.value })}
          />
        )}
        {binding && "value" in binding && (
          <input
            aria-label={`Value of ${input.name}`}
            className="value-input"
            value={literalText(binding.value)}
            onChange={(e) => onChange({ value: parseLiteral(e.target.value, input.targetType) })}
          />
        )}
        {input.default !== null && input.default !== undefined && (
          <button type="button" aria-label={`Use default for ${input.name}`} onClick={() => onChange({ value: input.default })}>
            Use default
          </button>
        )}
      </div>
      {binding && ("template" in binding || "expr" in binding) && (
        <ExpressionBuilder
          kind={"expr" in binding ? "expr" : "template"}
          text={"expr" in binding ? binding.expr : binding.template}
          onChange={(text) => onChange("expr" in binding ? { expr: text } : { template: text })}
          inputName={input.name}
          {...expression}
        />
      )}
      <p className={`verdict verdict-${verdict.attr}`} data-verdict={verdict.attr} data-input={input.name} aria-live="polite">
        <span className="verdict-label">
          {verdict.attr === "ok" ? "✓ " : verdict.attr === "error" ? "✗ " : ""}
        </span>
        {verdict.text}
        {input.sourceType && verdict.attr !== "pending" && (
          <span className="muted">
            {" "}
            ({input.sourceType} → {input.targetType})
          </span>
        )}
      </p>
    </li>
  );
}
