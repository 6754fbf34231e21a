/**
 * Shown while the server does not answer. Polls `/healthz` every few seconds and on "Retry
 * now"; when the server answers again the banner goes and pages refetch (see serverStatus).
 */
import { useCallback, useEffect, useState, useSyncExternalStore } from "react";
import { probeServer, serverStatus } from "../api/serverStatus";

const RETRY_SECONDS = 5;

export function ServerBanner() {
  const status = useSyncExternalStore(serverStatus.subscribe, serverStatus.get);
  const [checking, setChecking] = useState(false);

  const retry = useCallback(async () => {
    setChecking(true);
    const ok = await probeServer();
    setChecking(false);
    if (ok) serverStatus.markReachable();
  }, []);

  useEffect(() => {
    if (status.reachable) return;
    const timer = window.setInterval(() => void retry(), RETRY_SECONDS * 1000);
    return () => window.clearInterval(timer);
  }, [status.reachable, retry]);

  if (status.reachable) return null;
  return (
    <div role="alert" className="banner banner-error">
      <span>
        The Weft server cannot be reached. Your changes are kept in this browser; retrying every {RETRY_SECONDS}{" "}
        seconds.
      </span>
      <button type="button" onClick={() => void retry()} disabled={checking}>
        {checking ? "Checking…" : "Retry now"}
      </button>
    </div>
  );
}
