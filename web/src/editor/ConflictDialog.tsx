/** Someone saved since this graph was loaded: say who and when, and let the user choose. */
export interface Conflict {
  version: number;
  by: string | null;
  at: string | null;
}

export function ConflictDialog({
  conflict,
  onReload,
  onOverwrite,
  onCancel,
}: {
  conflict: Conflict;
  onReload: () => void;
  onOverwrite: () => void;
  onCancel: () => void;
}) {
  return (
    <div className="dialog-backdrop">
      <div role="alertdialog" aria-modal="true" aria-labelledby="conflict-title" aria-describedby="conflict-text" className="dialog">
        <h2 id="conflict-title">Someone else saved this workflow</h2>
        <p id="conflict-text">
          {conflict.by ?? "Another user"} saved version {conflict.version}
          {conflict.at ? ` at ${new Date(conflict.at).toLocaleString()}` : ""} while you were editing. Reload to see
          their version (your changes are discarded), or overwrite it with yours.
        </p>
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Keep editing
          </button>
          <button type="button" onClick={onReload}>
            Reload their version
          </button>
          <button type="button" className="danger" onClick={onOverwrite}>
            Overwrite with mine
          </button>
        </div>
      </div>
    </div>
  );
}
