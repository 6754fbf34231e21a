/**
 * The history filters live in the URL (`?status=FAILED&workflow=…&from=…&to=…&q=…`) so a
 * filtered list is a link; this turns them into query variables and back.
 */
export const STATUSES = ["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"] as const;
export type Status = (typeof STATUSES)[number];

export interface Filters {
  status: Status | null;
  workflowId: string | null;
  /** `YYYY-MM-DD`, inclusive, in the browser's time zone. */
  from: string | null;
  to: string | null;
  text: string | null;
}

export function readFilters(params: URLSearchParams): Filters {
  const status = params.get("status");
  const nonEmpty = (k: string) => {
    const v = params.get(k)?.trim();
    return v ? v : null;
  };
  return {
    status: (STATUSES as readonly string[]).includes(status ?? "") ? (status as Status) : null,
    workflowId: nonEmpty("workflow"),
    from: validDate(nonEmpty("from")),
    to: validDate(nonEmpty("to")),
    text: nonEmpty("q"),
  };
}

export function writeFilters(f: Filters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.status) p.set("status", f.status);
  if (f.workflowId) p.set("workflow", f.workflowId);
  if (f.from) p.set("from", f.from);
  if (f.to) p.set("to", f.to);
  if (f.text) p.set("q", f.text);
  return p;
}

function validDate(v: string | null): string | null {
  return v && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(`${v}T00:00:00`)) ? v : null;
}

/** Query variables: the date range covers whole local days, `to` included. */
export function toVariables(f: Filters) {
  const startOf = (d: string) => new Date(`${d}T00:00:00`);
  let startedBefore: string | null = null;
  if (f.to) {
    const end = startOf(f.to);
    end.setDate(end.getDate() + 1);
    startedBefore = end.toISOString();
  }
  return {
    status: f.status,
    workflowId: f.workflowId,
    startedAfter: f.from ? startOf(f.from).toISOString() : null,
    startedBefore,
    text: f.text,
  };
}
