import { useEffect, useSyncExternalStore } from "react";
import { serverStatus } from "../api/serverStatus";

/** Re-runs `refetch` whenever the server comes back after being unreachable. */
export function useRefetchOnReconnect(refetch: () => void): void {
  const { generation } = useSyncExternalStore(serverStatus.subscribe, serverStatus.get);
  useEffect(() => {
    if (generation > 0) refetch();
  }, [generation]); // eslint-disable-line react-hooks/exhaustive-deps
}
