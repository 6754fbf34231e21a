/**
 * Whether the Weft server answers. A network failure of any request marks it unreachable;
 * the banner then polls `/healthz` and, once it answers, bumps `generation` so pages refetch
 * what failed. Kept outside React so the urql exchange and the banner share one truth.
 */
export interface ServerStatus {
  reachable: boolean;
  generation: number;
}

let status: ServerStatus = { reachable: true, generation: 0 };
const listeners = new Set<() => void>();

function set(next: ServerStatus) {
  status = next;
  listeners.forEach((l) => l());
}

export const serverStatus = {
  get: (): ServerStatus => status,
  subscribe(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  markUnreachable(): void {
    if (status.reachable) set({ ...status, reachable: false });
  },
  markReachable(): void {
    if (!status.reachable) set({ reachable: true, generation: status.generation + 1 });
  },
};

/** Asks `/healthz` once; true when the server answered. */
export async function probeServer(fetchImpl: typeof fetch = fetch): Promise<boolean> {
  try {
    const response = await fetchImpl("/healthz", { cache: "no-store" });
    return response.ok;
  } catch {
    return false;
  }
}
