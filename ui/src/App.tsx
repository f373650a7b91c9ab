import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, ApiError, ok, onUnauthorized } from "./api/client";
import { Help } from "./components/Help";
import { SetupCheck } from "./components/SetupBanner";
import { Login } from "./pages/Login";
import { Chat } from "./pages/Chat";
import { link, navigate, parseRoute, usePath } from "./lib/router";
import { useShortcuts } from "./lib/keys";

// The chat is the landing page; the other pages load on first visit.
const JobPage = lazy(() => import("./pages/Job").then((m) => ({ default: m.JobPage })));
const Queue = lazy(() => import("./pages/Queue").then((m) => ({ default: m.Queue })));
const Stats = lazy(() => import("./pages/Stats").then((m) => ({ default: m.Stats })));

type Auth = { kind: "checking" } | { kind: "in"; name: string } | { kind: "out"; error?: string };

export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: "checking" });
  const [help, setHelp] = useState(false);
  const path = usePath();
  const route = parseRoute(path);

  const check = useCallback(() => {
    ok(api.GET("/api/v1/whoami"))
      .then((t) => setAuth({ kind: "in", name: t.name }))
      .catch((e: unknown) =>
        setAuth({ kind: "out", error: e instanceof ApiError && e.status !== 401 ? e.message : undefined }),
      );
  }, []);
  useEffect(check, [check]);
  useEffect(() => onUnauthorized(() => setAuth({ kind: "out", error: "your session ended: log in again" })), []);

  useShortcuts([
    { keys: "g c", help: "chat", run: () => navigate("/") },
    { keys: "g q", help: "queue", run: () => navigate("/queue") },
    { keys: "g s", help: "stats", run: () => navigate("/stats") },
    { keys: "?", help: "help", run: () => setHelp((h) => !h) },
    { keys: "escape", help: "close", run: () => setHelp(false), inFields: false },
  ]);

  if (auth.kind === "checking") return <div className="splash">ctl</div>;
  if (auth.kind === "out") return <Login error={auth.error} onIn={check} />;

  const logout = async () => {
    await api.POST("/api/v1/logout").catch(() => undefined);
    setAuth({ kind: "out" });
  };

  return (
    <div className="app">
      <header className="top">
        <a className="brand" href="/" onClick={link("/")}>
          ctl
        </a>
        <nav aria-label="pages">
          <a href="/" onClick={link("/")} aria-current={route.page === "chat" ? "page" : undefined}>
            chat
          </a>
          <a href="/queue" onClick={link("/queue")} aria-current={route.page === "queue" ? "page" : undefined}>
            queue
          </a>
          <a href="/stats" onClick={link("/stats")} aria-current={route.page === "stats" ? "page" : undefined}>
            stats
          </a>
        </nav>
        <span className="spacer" />
        <button type="button" className="ghost" onClick={() => setHelp(true)} title="Keyboard shortcuts (?)">
          ? keys
        </button>
        <span className="who" title="the API token this browser logged in with">
          {auth.name}
        </span>
        <button type="button" className="ghost" onClick={() => void logout()}>
          log out
        </button>
      </header>
      <SetupCheck />
      <main className="main">
        <Suspense fallback={<div className="loading">loading…</div>}>
          {route.page === "chat" && <Chat sessionId={route.session} />}
          {route.page === "job" && <JobPage id={route.id} />}
          {route.page === "queue" && <Queue />}
          {route.page === "stats" && <Stats />}
          {route.page === "missing" && (
            <div className="empty">
              Nothing lives at <code>{path}</code>. <a href="/" onClick={link("/")}>Back to chat</a>.
            </div>
          )}
        </Suspense>
      </main>
      {help && <Help onClose={() => setHelp(false)} />}
    </div>
  );
}
