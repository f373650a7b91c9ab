import { useState } from "react";
import { api, ok } from "../api/client";

/** Asks for an API token and trades it for the session cookie. */
export function Login({ error, onIn }: { error?: string; onIn: () => void }) {
  const [token, setToken] = useState("");
  const [problem, setProblem] = useState(error);
  const [busy, setBusy] = useState(false);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setBusy(true);
    try {
      await ok(api.POST("/api/v1/login", { body: { token: token.trim() } }));
      setToken("");
      onIn();
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="login">
      <form onSubmit={(e) => void submit(e)} aria-label="log in">
        <h1>ctl</h1>
        <p className="dim">
          Open the link <code>ctl up</code> printed, or paste an API token (<code>ctl token create --name browser</code>).
        </p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          placeholder="ctl_…"
        />
        {problem && (
          <p className="error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" disabled={busy || token.trim() === ""}>
          {busy ? "logging in…" : "log in"}
        </button>
      </form>
    </div>
  );
}
