/**
 * The API token lives in localStorage so a reload or a second tab stays signed in. Signing out
 * (by hand or because the server said UNAUTHENTICATED) only drops the token: drafts of unsaved
 * graphs are kept under their own keys (see `editor/drafts.ts`), so nothing typed is lost.
 */
const KEY = "weft.token";
const listeners = new Set<() => void>();

export function readToken(): string | null {
  return localStorage.getItem(KEY);
}

export function writeToken(token: string): void {
  localStorage.setItem(KEY, token);
  listeners.forEach((l) => l());
}

export function clearToken(): void {
  if (localStorage.getItem(KEY) === null) return;
  localStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function subscribeToken(listener: () => void): () => void {
  listeners.add(listener);
  const onStorage = (e: StorageEvent) => {
    if (e.key === KEY) listener();
  };
  window.addEventListener("storage", onStorage);
  return () => {
    listeners.delete(listener);
    window.removeEventListener("storage", onStorage);
  };
}
