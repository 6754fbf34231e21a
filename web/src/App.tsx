/**
 * Routes of the studio. Every route is a deep link: signed out, it goes to `/signin` with the
 * wanted path in `next`, and comes back there after signing in. The editor is loaded lazily so
 * the workflow list and sign-in pages start with a small bundle.
 */
import { lazy, Suspense, useMemo, useSyncExternalStore } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router-dom";
import { Provider } from "urql";
import { createApiClient } from "./api/client";
import { readToken, subscribeToken } from "./auth/token";
import { SignIn } from "./auth/SignIn";
import { Layout } from "./shell/Layout";
import { WorkflowList } from "./workflows/WorkflowList";
import { Placeholder } from "./pages/Placeholder";

const EditorPage = lazy(() => import("./editor/EditorPage"));
const ExecutionsPage = lazy(() => import("./history/ExecutionsPage"));
const ExecutionPage = lazy(() => import("./history/ExecutionPage"));

function useToken(): string | null {
  return useSyncExternalStore(subscribeToken, readToken);
}

function RequireAuth({ children }: { children: React.ReactNode }) {
  const token = useToken();
  const location = useLocation();
  if (!token) {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/signin?next=${next}`} replace />;
  }
  return <>{children}</>;
}

export function App() {
  const token = useToken();
  // A new client per token: nothing cached for one user is shown to the next.
  const client = useMemo(() => createApiClient(), [token]); // eslint-disable-line react-hooks/exhaustive-deps
  return (
    <Provider value={client}>
      <Routes>
        <Route path="/signin" element={<SignIn />} />
        <Route
          element={
            <RequireAuth>
              <Layout />
            </RequireAuth>
          }
        >
          <Route path="/" element={<Navigate to="/workflows" replace />} />
          <Route path="/workflows" element={<WorkflowList />} />
          <Route
            path="/workflows/:id"
            element={
              <Suspense fallback={<p className="loading">Loading the editor…</p>}>
                <EditorPage />
              </Suspense>
            }
          />
          <Route
            path="/executions"
            element={
              <Suspense fallback={<p className="loading">Loading the history…</p>}>
                <ExecutionsPage />
              </Suspense>
            }
          />
          <Route
            path="/executions/:id"
            element={
              <Suspense fallback={<p className="loading">Loading the execution…</p>}>
                <ExecutionPage />
              </Suspense>
            }
          />
          <Route
            path="/tools"
            element={
              <Placeholder title="Tools">
                Part 3 of the studio brings the tool registry here: create, version and test your code, API,
                database-query and webhook tools.
              </Placeholder>
            }
          />
          <Route
            path="/templates"
            element={
              <Placeholder title="Templates">
                Part 3 of the studio brings workflow templates here: start a workflow from a template or publish
                your own.
              </Placeholder>
            }
          />
          <Route path="*" element={<Placeholder title="Not found">There is no page at this address.</Placeholder>} />
        </Route>
      </Routes>
    </Provider>
  );
}
