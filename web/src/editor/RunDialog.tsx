/**
 * Runs the workflow with an input. The form comes from the trigger's `config.inputSchema`
 * (rjsf); without one the input is typed as JSON. The finished execution's status and output
 * are shown here, and the canvas colours each node by its run.
 */
import { useState } from "react";
import Form from "@rjsf/core";
import validator from "@rjsf/validator-ajv8";
import type { RJSFSchema } from "@rjsf/utils";
import { Link } from "react-router-dom";

export interface RunResult {
  id: string;
  status: string;
  output: unknown;
  error: string | null | undefined;
}

interface Props {
  inputSchema: RJSFSchema | null;
  running: boolean;
  result: RunResult | null;
  error: string | null;
  onRun: (input: unknown) => void;
  onClose: () => void;
}

export function RunDialog({ inputSchema, running, result, error, onRun, onClose }: Props) {
  const [json, setJson] = useState("{}");
  const [jsonError, setJsonError] = useState<string | null>(null);
  const [formData, setFormData] = useState<unknown>({});

  return (
    <div className="dialog-backdrop" onKeyDown={(e) => e.key === "Escape" && onClose()}>
      <div role="dialog" aria-modal="true" aria-labelledby="run-title" className="dialog">
        <h2 id="run-title">Run workflow</h2>
        {inputSchema ? (
          <Form
            schema={inputSchema}
            validator={validator}
            formData={formData}
            onChange={(e) => setFormData(e.formData)}
            onSubmit={(e) => onRun(e.formData ?? {})}
            disabled={running}
            showErrorList={false}
          >
            <div className="actions">
              <button type="button" onClick={onClose}>
                Close
              </button>
              <button type="submit" className="primary" disabled={running}>
                {running ? "Running…" : "Start run"}
              </button>
            </div>
          </Form>
        ) : (
          <form
            onSubmit={(e) => {
              e.preventDefault();
              try {
                const input: unknown = JSON.parse(json);
                setJsonError(null);
                onRun(input);
              } catch (err) {
                setJsonError(`Not valid JSON: ${(err as Error).message}`);
              }
            }}
          >
            <label htmlFor="run-input">Input (JSON)</label>
            <textarea
              id="run-input"
              rows={6}
              style={{ width: "100%", fontFamily: "monospace" }}
              value={json}
              onChange={(e) => setJson(e.target.value)}
              aria-invalid={jsonError ? true : undefined}
            />
            {jsonError && (
              <p role="alert" className="field-error">
                {jsonError}
              </p>
            )}
            <div className="actions">
              <button type="button" onClick={onClose}>
                Close
              </button>
              <button type="submit" className="primary" disabled={running}>
                {running ? "Running…" : "Start run"}
              </button>
            </div>
          </form>
        )}
        {error && (
          <p role="alert" className="field-error">
            {error}
          </p>
        )}
        {result && (
          <section className="result" aria-label="Run result" data-testid="run-result">
            <p>
              Status: <span className={`status-${result.status.toLowerCase()}`}>{result.status.toLowerCase()}</span> ·{" "}
              <Link to={`/executions/${result.id}`}>execution details</Link>
            </p>
            {result.error && <p className="field-error">{result.error}</p>}
            <h3>Output</h3>
            <pre data-testid="run-output">{JSON.stringify(result.output, null, 2)}</pre>
          </section>
        )}
      </div>
    </div>
  );
}
