/**
 * The value as it was `ms` after it last changed. Re-checks and previews go to the server
 * once the user pauses, not on every keystroke, and a stale answer is never mistaken for the
 * current one (callers compare what the server echoes back).
 */
import { useEffect, useState } from "react";

export const RECHECK_MS = 250;

export function useDebounced<T>(value: T, ms: number = RECHECK_MS): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

/** The last non-undefined value seen, so a refetch does not blank what is on screen. */
export function useLast<T>(value: T | undefined): T | undefined {
  const [last, setLast] = useState(value);
  if (value !== undefined && value !== last) setLast(value);
  return value ?? last;
}
