/** The user's workflows: open, create, rename, delete. */
import { useState } from "react";
import { Link, useNavigate } from "react-router-dom";
import { useMutation, useQuery } from "urql";
import { apiError } from "../api/errors";
import {
  CreateWorkflowMutation,
  DeleteWorkflowMutation,
  RenameWorkflowMutation,
  WorkflowsQuery,
} from "../api/operations";
import { EMPTY_DOCUMENT } from "../editor/document";
import { useRefetchOnReconnect } from "../shell/useRefetchOnReconnect";

export function WorkflowList() {
  const [{ data, fetching, error }, refetch] = useQuery({ query: WorkflowsQuery, requestPolicy: "cache-and-network" });
  useRefetchOnReconnect(() => refetch({ requestPolicy: "network-only" }));
  const [, create] = useMutation(CreateWorkflowMutation);
  const [, rename] = useMutation(RenameWorkflowMutation);
  const [, remove] = useMutation(DeleteWorkflowMutation);
  const [name, setName] = useState("");
  const [createError, setCreateError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<{ id: string; name: string } | null>(null);
  const [rowError, setRowError] = useState<{ id: string; message: string } | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<string | null>(null);
  const navigate = useNavigate();

  const workflows = data?.workflows.edges.map((e) => e.node) ?? [];

  async function onCreate(e: React.FormEvent) {
    e.preventDefault();
    setCreateError(null);
    const result = await create({ input: { name: name.trim(), document: EMPTY_DOCUMENT } });
    if (result.error) {
      setCreateError(apiError(result.error).message);
      return;
    }
    if (result.data) navigate(`/workflows/${result.data.createWorkflow.id}`);
  }

  async function onRename(id: string, newName: string) {
    const result = await rename({ input: { id, name: newName.trim() } });
    if (result.error) {
      setRowError({ id, message: apiError(result.error).message });
      return;
    }
    setRowError(null);
    setRenaming(null);
  }

  async function onDelete(id: string) {
    const result = await remove({ input: { id } }, { additionalTypenames: ["Workflow"] });
    setConfirmDelete(null);
    if (result.error) setRowError({ id, message: apiError(result.error).message });
    else refetch({ requestPolicy: "network-only" });
  }

  return (
    <main className="page">
      <h1>Workflows</h1>
      <form className="inline-form" onSubmit={(e) => void onCreate(e)}>
        <label htmlFor="new-workflow">New workflow name</label>
        <input id="new-workflow" value={name} onChange={(e) => setName(e.target.value)} required />
        <button type="submit" disabled={!name.trim()}>
          Create workflow
        </button>
        {createError && (
          <p role="alert" className="field-error">
            {createError}
          </p>
        )}
      </form>
      {error && !data && (
        <p role="alert" className="field-error">
          {apiError(error).message}
        </p>
      )}
      {fetching && !data && <p>Loading…</p>}
      {data && workflows.length === 0 && <p>No workflows yet. Name one above to create it.</p>}
      <ul className="workflow-list" aria-label="Workflows">
        {workflows.map((w) => (
          <li key={w.id} data-workflow-id={w.id}>
            {renaming?.id === w.id ? (
              <form
                className="inline-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  void onRename(w.id, renaming.name);
                }}
              >
                <label htmlFor={`rename-${w.id}`}>New name for {w.name}</label>
                <input
                  id={`rename-${w.id}`}
                  value={renaming.name}
                  autoFocus
                  onChange={(e) => setRenaming({ id: w.id, name: e.target.value })}
                />
                <button type="submit">Save name</button>
                <button type="button" onClick={() => setRenaming(null)}>
                  Cancel
                </button>
              </form>
            ) : (
              <>
                <Link to={`/workflows/${w.id}`} className="workflow-name">
                  {w.name}
                </Link>
                <span className="muted">
                  version {w.version} · saved {new Date(w.updatedAt).toLocaleString()}
                </span>
                <span className="row-actions">
                  <button type="button" onClick={() => setRenaming({ id: w.id, name: w.name })} aria-label={`Rename ${w.name}`}>
                    Rename
                  </button>
                  {confirmDelete === w.id ? (
                    <>
                      <button type="button" className="danger" onClick={() => void onDelete(w.id)}>
                        Delete {w.name} for good
                      </button>
                      <button type="button" onClick={() => setConfirmDelete(null)}>
                        Keep it
                      </button>
                    </>
                  ) : (
                    <button type="button" onClick={() => setConfirmDelete(w.id)} aria-label={`Delete ${w.name}`}>
                      Delete
                    </button>
                  )}
                </span>
              </>
            )}
            {rowError?.id === w.id && (
              <p role="alert" className="field-error">
                {rowError.message}
              </p>
            )}
          </li>
        ))}
      </ul>
    </main>
  );
}
