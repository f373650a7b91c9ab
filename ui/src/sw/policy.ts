// Which requests the service worker answers, and how. It keeps the app
// shell only (the page, its scripts, styles, fonts, icons and manifest), so
// the UI opens offline; it never answers, let alone stores, API data, SSE
// streams, the login link or anything else the server says.

/** Paths the service worker leaves to the network, whatever they are. */
export const NEVER = ["/api", "/login", "/metrics", "/healthz", "/readyz", "/mcp"];

export type How =
  /** Not the worker's business: the browser fetches it as if there were no worker. */
  | "network"
  /** A page load: from the network, or the stored shell page when that fails. */
  | "page"
  /** A shell file: the stored copy, or the network if it is not stored. */
  | "shell";

export interface Req {
  method: string;
  url: string;
  mode: string;
}

export function decide(req: Req, origin: string, shell: ReadonlySet<string>): How {
  if (req.method !== "GET") return "network";
  const url = new URL(req.url);
  if (url.origin !== origin) return "network";
  if (NEVER.some((p) => url.pathname === p || url.pathname.startsWith(`${p}/`))) return "network";
  if (req.mode === "navigate") return "page";
  if (!url.search && shell.has(url.pathname)) return "shell";
  return "network";
}
