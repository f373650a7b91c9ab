// Installable and offline: the service worker (`src/sw/worker.ts`, built to
// `/sw.js`) keeps the app shell so the UI opens without a network, and the
// app says when it is offline.
import { useSyncExternalStore } from "react";

/** Registers the shell's service worker (built UI only; `npm run dev` has none). */
export function registerShell(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  const register = () => {
    navigator.serviceWorker.register("/sw.js").catch((e: unknown) => console.warn("ctl: no offline shell:", e));
  };
  if (document.readyState === "complete") register();
  else window.addEventListener("load", register, { once: true });
}

function subscribe(f: () => void): () => void {
  window.addEventListener("online", f);
  window.addEventListener("offline", f);
  return () => {
    window.removeEventListener("online", f);
    window.removeEventListener("offline", f);
  };
}

/** The browser's idea of whether there is a network. */
export function useOnline(): boolean {
  return useSyncExternalStore(subscribe, () => navigator.onLine);
}
