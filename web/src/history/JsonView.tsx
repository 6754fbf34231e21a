/**
 * A JSON value as a collapsible tree (native `<details>`), with Copy; a value larger than
 * the preview limit is shown cut, with a button to load it whole.
 */
import { useState } from "react";
import { previewJson } from "./timeline";

function Tree({ name, value, depth }: { name: string; value: unknown; depth: number }) {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    return (
      <details open={depth < 2} className="json-node">
        <summary>
          <span className="json-key">{name}</span> {Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`}
        </summary>
        <div className="json-children">
          {entries.slice(0, 200).map(([k, v]) => (
            <Tree key={k} name={k} value={v} depth={depth + 1} />
          ))}
          {entries.length > 200 && <div className="muted">… {entries.length - 200} more</div>}
        </div>
      </details>
    );
  }
  return (
    <div className="json-leaf">
      <span className="json-key">{name}</span>: <span className={`json-${typeof value}`}>{JSON.stringify(value)}</span>
    </div>
  );
}

export function JsonView({ label, value }: { label: string; value: unknown }) {
  const [whole, setWhole] = useState(false);
  const [copied, setCopied] = useState(false);
  const preview = previewJson(value);
  return (
    <section className="json-view" aria-label={label}>
      <header>
        <h4>{label}</h4>
        <button
          type="button"
          className="link"
          onClick={() => {
            void navigator.clipboard?.writeText(JSON.stringify(value, null, 2)).then(() => setCopied(true));
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
      </header>
      {value === undefined || value === null ? (
        <p className="muted">none</p>
      ) : preview.cut && !whole ? (
        <>
          <pre className="json-cut">{preview.text}…</pre>
          <button type="button" onClick={() => setWhole(true)}>
            Load whole ({Math.round(preview.size / 1024)} KB)
          </button>
        </>
      ) : (
        <Tree name={label.toLowerCase()} value={value} depth={0} />
      )}
    </section>
  );
}
