/**
 * Sign-in with an API token. The token is checked against the server (`viewer`) before it is
 * kept, so a typo shows an error here instead of a broken app.
 */
import { useState } from "react";
import { useNavigate, useSearchParams } from "react-router-dom";
import { writeToken } from "./token";

export function SignIn() {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const next = params.get("next");
  const target = next && next.startsWith("/") && !next.startsWith("//") ? next : "/workflows";

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token.trim()}` },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
      const body = (await response.json()) as { data?: { viewer?: { id: string } }; errors?: { message: string }[] };
      if (body.data?.viewer) {
        writeToken(token.trim());
        navigate(target, { replace: true });
      } else {
        setError("This token is not valid. Check that you copied all of it, including the weft_ prefix.");
      }
    } catch {
      setError("The Weft server cannot be reached. Is `weft` running?");
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="signin">
      <form onSubmit={(e) => void submit(e)} className="card" aria-labelledby="signin-title">
        <h1 id="signin-title">Sign in to Weft Studio</h1>
        <p>
          Paste an API token. The first administrator&apos;s token is printed by the server (<code>weft</code>) in
          its output at first start; an administrator can create more with <code>createApiKey</code>.
        </p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="current-password"
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="weft_…"
          required
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? "token-error" : undefined}
        />
        {error && (
          <p id="token-error" role="alert" className="field-error">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy || !token.trim()}>
          Sign in
        </button>
      </form>
    </main>
  );
}
