/**
 * Reads the server's error vocabulary (`extensions.code`, `extensions.path`,
 * `extensions.problems`) out of urql's CombinedError, so screens can pin each problem to the
 * node, field or input it concerns instead of printing one opaque message.
 */
import type { CombinedError } from "urql";

export interface Problem {
  path: string;
  message: string;
}

export interface ApiError {
  code: string | null;
  message: string;
  path: string | null;
  problems: Problem[];
  network: boolean;
}

function asProblems(raw: unknown): Problem[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((p: unknown) => {
    if (p && typeof p === "object" && "message" in p) {
      const o = p as { path?: unknown; message?: unknown };
      return [{ path: typeof o.path === "string" ? o.path : "", message: String(o.message) }];
    }
    return [];
  });
}

export function apiError(error: CombinedError): ApiError {
  if (error.networkError) {
    return { code: null, message: "The Weft server cannot be reached.", path: null, problems: [], network: true };
  }
  const first = error.graphQLErrors[0];
  const ext = (first?.extensions ?? {}) as { code?: unknown; path?: unknown; problems?: unknown };
  const path = typeof ext.path === "string" ? ext.path : null;
  const problems = asProblems(ext.problems);
  return {
    code: typeof ext.code === "string" ? ext.code : null,
    message: first?.message ?? error.message,
    path,
    problems: problems.length > 0 ? problems : path ? [{ path, message: first?.message ?? "" }] : [],
    network: false,
  };
}

export function hasCode(error: CombinedError | undefined, code: string): boolean {
  return !!error?.graphQLErrors.some((e) => (e.extensions as { code?: unknown } | undefined)?.code === code);
}

/**
 * Strips the mutation's `input.document.` prefix so a problem path reads like
 * `validateWorkflow`'s (`nodes[2].inputs.url`), and returns the node index it points at.
 */
export function documentPath(path: string): string {
  return path.replace(/^input\.document\./, "").replace(/^document\./, "");
}

export function nodeIndexOf(path: string): number | null {
  const m = /^nodes\[(\d+)\]/.exec(documentPath(path));
  return m ? Number(m[1]) : null;
}
