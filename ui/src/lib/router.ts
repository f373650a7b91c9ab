// A tiny history-API router: the app has six kinds of page, not enough to
// pay for a routing library in the initial bundle.
import { useSyncExternalStore } from "react";

const listeners = new Set<() => void>();
const emit = () => listeners.forEach((f) => f());
window.addEventListener("popstate", emit);

function subscribe(f: () => void): () => void {
  listeners.add(f);
  return () => listeners.delete(f);
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (opts.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  emit();
}

/** The current path, re-rendering on every navigation. */
export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export function useSearch(): URLSearchParams {
  const search = useSyncExternalStore(subscribe, () => location.search);
  return new URLSearchParams(search);
}

export type Route =
  | { page: "chat"; session?: string }
  | { page: "job"; id: string }
  | { page: "queue" }
  | { page: "stats" }
  | { page: "note"; path: string }
  | { page: "missing" };

export function parseRoute(path: string): Route {
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const [head, arg] = parts;
  if (!head || (head === "chat" && parts.length <= 2)) return arg ? { page: "chat", session: arg } : { page: "chat" };
  if (head === "job" && arg && parts.length === 2) return { page: "job", id: arg };
  if (head === "queue" && parts.length === 1) return { page: "queue" };
  if (head === "stats" && parts.length === 1) return { page: "stats" };
  if (head === "note" && parts.length >= 2) return { page: "note", path: parts.slice(1).join("/") };
  return { page: "missing" };
}

/** An onClick for an in-app link: plain clicks navigate without a reload. */
export function link(to: string) {
  return (e: { button: number; metaKey: boolean; ctrlKey: boolean; shiftKey: boolean; altKey: boolean; preventDefault(): void }) => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
}
