import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { api, ApiError, ok, onUnauthorized } from "./api/client";
import { Help } from "./components/Help";
import { DrawerButton, Pane, TopBarSlotsProvider, useDrawer, useTopBarSlots } from "./components/Layout";
import { SetupCheck } from "./components/SetupBanner";
import { Login } from "./pages/Login";
import { Chat } from "./pages/Chat";
import { link, navigate, parseRoute, usePath } from "./lib/router";
import { useShortcuts } from "./lib/keys";
import { useViewportHeight } from "./lib/layout";
import { useOnline } from "./lib/offline";

// The chat is the landing page; the other pages load on first visit.
const JobPage = lazy(() => import("./pages/Job").then((m) => ({ default: m.JobPage })));
const Queue = lazy(() => import("./pages/Queue").then((m) => ({ default: m.Queue })));
const Stats = lazy(() => import("./pages/Stats").then((m) => ({ default: m.Stats })));
const NotePage = lazy(() => import("./pages/Note").then((m) => ({ default: m.NotePage })));

type Auth =
  | { kind: "checking" }
  | { kind: "in"; name: string }
  | { kind: "out"; error?: string }
  | { kind: "unreachable"; error: string };

const RETRY_MS = 5000;

export function App() {
  const [auth, setAuth] = useState<Auth>({ kind: "checking" });
  const [help, setHelp] = useState(false);
  const path = usePath();
  const route = parseRoute(path);
  const online = useOnline();
  const menu = useDrawer("phone");
  const [slots, setSlot] = useTopBarSlots();
  useViewportHeight();

  const check = useCallback(() => {
    ok(api.GET("/api/v1/whoami"))
      .then((t) => setAuth({ kind: "in", name: t.name }))
      .catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 0) setAuth({ kind: "unreachable", error: e.message });
        else setAuth({ kind: "out", error: e instanceof ApiError && e.status !== 401 ? e.message : undefined });
      });
  }, []);
  useEffect(check, [check]);
  useEffect(() => onUnauthorized(() => setAuth({ kind: "out", error: "your session ended: log in again" })), []);
  // Unreachable (offline, or the server is down): try again now and then,
  // and as soon as the browser says the network is back.
  useEffect(() => {
    if (auth.kind !== "unreachable") return;
    const t = window.setInterval(check, RETRY_MS);
    window.addEventListener("online", check);
    return () => {
      window.clearInterval(t);
      window.removeEventListener("online", check);
    };
  }, [auth.kind, check]);
  const { setOpen: setMenuOpen } = menu;
  useEffect(() => setMenuOpen(false), [path, setMenuOpen]);

  useShortcuts([
    { keys: "g c", help: "chat", run: () => navigate("/") },
    { keys: "g q", help: "queue", run: () => navigate("/queue") },
    { keys: "g s", help: "stats", run: () => navigate("/stats") },
    { keys: "?", help: "help", run: () => setHelp((h) => !h) },
    { keys: "escape", help: "close", run: () => setHelp(false), inFields: false },
  ]);

  if (auth.kind === "checking") return <div className="splash">ctl</div>;
  if (auth.kind === "unreachable") return <Unreachable online={online} error={auth.error} retry={check} />;
  if (auth.kind === "out") return <Login error={auth.error} onIn={check} />;

  const logout = async () => {
    await api.POST("/api/v1/logout").catch(() => undefined);
    setAuth({ kind: "out" });
  };
  const page = (to: string, name: string, current: boolean) => (
    <a
      href={to}
      onClick={(e) => {
        setMenuOpen(false);
        link(to)(e);
      }}
      aria-current={current ? "page" : undefined}
    >
      {name}
    </a>
  );

  return (
    <TopBarSlotsProvider value={slots}>
      <div className="app">
        <header className="top">
          <div className="top-slot" ref={setSlot.start} />
          <a className="brand touch" href="/" onClick={link("/")}>
            ctl
          </a>
          <Pane drawer={menu} side="end" label="menu" className="top-menu" landmark={false}>
            <nav aria-label="pages">
              {page("/", "chat", route.page === "chat")}
              {page("/queue", "queue", route.page === "queue")}
              {page("/stats", "stats", route.page === "stats")}
            </nav>
            <span className="spacer" />
            <button
              type="button"
              className="ghost"
              onClick={() => {
                setMenuOpen(false);
                setHelp(true);
              }}
              title="Keyboard shortcuts (?)"
            >
              ? keys
            </button>
            <span className="who" title="the API token this browser logged in with">
              {auth.name}
            </span>
            <button type="button" className="ghost" onClick={() => void logout()}>
              log out
            </button>
          </Pane>
          <div className="top-slot end" ref={setSlot.end} />
          <DrawerButton drawer={menu}>
            menu
          </DrawerButton>
        </header>
        {!online && (
          <p className="offline-bar" role="status">
            offline: showing what was loaded; it reconnects by itself
          </p>
        )}
        <SetupCheck />
        <main className="main">
          <Suspense fallback={<div className="loading">loading…</div>}>
            {route.page === "chat" && <Chat sessionId={route.session} />}
            {route.page === "job" && <JobPage id={route.id} />}
            {route.page === "queue" && <Queue />}
            {route.page === "stats" && <Stats />}
            {route.page === "note" && <NotePage path={route.path} />}
            {route.page === "missing" && (
              <div className="empty">
                Nothing lives at <code>{path}</code>. <a href="/" onClick={link("/")}>Back to chat</a>.
              </div>
            )}
          </Suspense>
        </main>
        {help && <Help onClose={() => setHelp(false)} />}
      </div>
    </TopBarSlotsProvider>
  );
}

/** The server cannot be reached: offline, or ctl is down. The shell still opened. */
function Unreachable({ online, error, retry }: { online: boolean; error: string; retry: () => void }) {
  return (
    <div className="splash unreachable">
      <div role="alert" className="unreachable-box">
        <h1 className="brand">ctl</h1>
        <p>{online ? "ctl cannot be reached right now." : "You are offline."}</p>
        <p className="dim small">{online ? error : "This page opened from the copy on this device; it reconnects when the network is back."}</p>
        <button type="button" onClick={retry}>
          try again
        </button>
      </div>
    </div>
  );
}
