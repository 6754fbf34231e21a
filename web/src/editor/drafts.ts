/**
 * Unsaved graphs survive a reload, a crash of the tab and an expired token: every change is
 * written here, keyed by workflow, with the version it was based on (used as
 * `expectedVersion`, so saving a stale draft surfaces as a CONFLICT rather than a silent
 * overwrite). A successful save removes the draft.
 */
import type { WorkflowDocument } from "./document";

export interface Draft {
  baseVersion: number;
  document: WorkflowDocument;
  savedAt: string;
}

const key = (workflowId: string) => `weft.draft.${workflowId}`;

export function readDraft(workflowId: string): Draft | null {
  try {
    const raw = localStorage.getItem(key(workflowId));
    if (!raw) return null;
    const parsed = JSON.parse(raw) as Partial<Draft>;
    if (typeof parsed.baseVersion !== "number" || !parsed.document) return null;
    return parsed as Draft;
  } catch {
    return null;
  }
}

export function writeDraft(workflowId: string, draft: Draft): void {
  try {
    localStorage.setItem(key(workflowId), JSON.stringify(draft));
  } catch {
    // A full storage quota loses only the draft, never the canvas in memory.
  }
}

export function clearDraft(workflowId: string): void {
  localStorage.removeItem(key(workflowId));
}
