/**
 * The expression builder for `expr` (jq) and `template` bindings: a CodeMirror editor that
 * completes upstream fields from the server's field list, and a live preview evaluated by the
 * server's mapping engine (`previewMapping`, the limits of a real run) against the outputs of
 * the workflow's last execution or a sample the user types. The studio never evaluates jq or
 * templates itself, so the preview cannot differ from what a run would compute.
 */
import { useMemo, useState } from "react";
import { useQuery } from "urql";
import CodeMirror, { EditorView } from "@uiw/react-codemirror";
import { autocompletion } from "@codemirror/autocomplete";
import { json } from "@codemirror/lang-json";
import type { WorkflowDocument } from "../editor/document";
import { PreviewMappingQuery } from "../mapping/operations";
import { useDebounced } from "../mapping/useDebounced";
import { fieldCompletion, type ExpressionKind, type FieldInfo } from "./completion";
import { previewVariables, previewVerdict, sampleSourceText, parseSample } from "./preview";

export interface ExpressionBuilderProps {
  kind: ExpressionKind;
  text: string;
  onChange: (text: string) => void;
  inputName: string;
  nodeId: string;
  /** The document with the bindings being edited, so the preview sees them. */
  document: WorkflowDocument;
  fields: FieldInfo[];
  /** Upstream node ids, to start a typed sample with their keys. */
  upstreamIds: string[];
  workflowId?: string;
}

const SETUP = { lineNumbers: false, foldGutter: false, highlightActiveLine: false } as const;

export function ExpressionBuilder(props: ExpressionBuilderProps) {
  const { kind, text, onChange, inputName, nodeId, document, fields, upstreamIds, workflowId } = props;
  const label = kind === "expr" ? `jq expression for ${inputName}` : `Template for ${inputName}`;
  const extensions = useMemo(
    () => [
      autocompletion({ override: [fieldCompletion(kind, () => fields)], activateOnTyping: true }),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ "aria-label": label }),
    ],
    [kind, label, fields],
  );
  const [useSample, setUseSample] = useState(!workflowId);
  const [sampleText, setSampleText] = useState(() =>
    JSON.stringify(Object.fromEntries(upstreamIds.map((id) => [id, {}])), null, 2),
  );
  const sample = parseSample(sampleText);
  const sampleExtensions = useMemo(
    () => [json(), EditorView.contentAttributes.of({ "aria-label": `Sample upstream outputs for ${inputName} (JSON)` })],
    [inputName],
  );

  const variables = useMemo(
    () => previewVariables({ document, nodeId, kind, text, sample: useSample ? sample : null, workflowId }),
    // `sample` is derived from `sampleText`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [document, nodeId, kind, text, useSample, sampleText, workflowId],
  );
  const settled = useDebounced(variables);
  const ready = settled !== null && settled === variables;
  const [result] = useQuery({
    query: PreviewMappingQuery,
    variables: settled ?? { input: { document: {}, nodeId, binding: {} } },
    pause: settled === null,
    requestPolicy: "network-only",
  });
  const preview = ready && !result.fetching ? result.data?.previewMapping : undefined;
  const verdict = preview ? previewVerdict(preview.verdict) : null;

  return (
    <div className="expression-builder">
      <CodeMirror
        className="code-input"
        value={text}
        onChange={onChange}
        extensions={extensions}
        basicSetup={SETUP}
        placeholder={kind === "expr" ? ".nodes.<id>.output.<field>" : "Hello {{ <id>.output.<field> }}"}
      />
      <fieldset className="sample-choice">
        <legend>Preview against</legend>
        <label>
          <input type="radio" name={`sample-${inputName}`} checked={!useSample} onChange={() => setUseSample(false)} />
          the last execution{workflowId ? "" : " (save and run first)"}
        </label>
        <label>
          <input type="radio" name={`sample-${inputName}`} checked={useSample} onChange={() => setUseSample(true)} />
          a sample I type
        </label>
      </fieldset>
      {useSample && (
        <>
          <CodeMirror
            className="code-input sample"
            value={sampleText}
            onChange={setSampleText}
            extensions={sampleExtensions}
            basicSetup={SETUP}
          />
          {sample === undefined && (
            <p className="field-error">The sample is not a JSON object of node id → output.</p>
          )}
        </>
      )}
      <div className="preview" aria-live="polite" data-testid="expression-preview">
        <h4>Preview</h4>
        {text.trim() === "" && <p className="muted">Type an expression to see its value.</p>}
        {text.trim() !== "" && !preview && !result.error && <p className="muted">Evaluating…</p>}
        {result.error && ready && <p className="field-error">{result.error.message}</p>}
        {preview && (
          <>
            <p className="muted">{sampleSourceText(preview.sampleSource)}</p>
            {preview.error ? (
              <p className="field-error" data-testid="preview-error">
                {preview.error}
              </p>
            ) : (
              <pre data-testid="preview-value">{JSON.stringify(preview.value, null, 2)}</pre>
            )}
            {verdict && (
              <p className={`verdict verdict-${verdict.attr}`} data-preview-verdict={verdict.attr}>
                {verdict.text}
              </p>
            )}
          </>
        )}
      </div>
    </div>
  );
}
