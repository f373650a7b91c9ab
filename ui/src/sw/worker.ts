// The service worker, built to /sw.js. The build (vite.config.ts) puts the
// list of shell files and a version over the two placeholders below; a new
// build is a new version, which stores its shell and drops the old one.
import { decide } from "./policy";

declare const __CTL_SHELL__: string[];
declare const __CTL_VERSION__: string;

interface ExtendableEvent extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface FetchEvent extends ExtendableEvent {
  request: Request;
  respondWith(r: Promise<Response>): void;
}
interface Scope {
  location: Location;
  skipWaiting(): Promise<void>;
  clients: { claim(): Promise<void> };
  addEventListener(type: "install" | "activate", f: (e: ExtendableEvent) => void): void;
  addEventListener(type: "fetch", f: (e: FetchEvent) => void): void;
}

const sw = globalThis as unknown as Scope;
const CACHE = `ctl-shell-${__CTL_VERSION__}`;
const SHELL = new Set(__CTL_SHELL__);
/** A page load waits this long for the server before the stored shell answers. */
const PAGE_TIMEOUT_MS = 4000;

sw.addEventListener("install", (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll([...SHELL]))
      .then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("ctl-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (e) => {
  const how = decide(e.request, sw.location.origin, SHELL);
  if (how === "shell") {
    e.respondWith(caches.match(e.request, { cacheName: CACHE }).then((hit) => hit ?? fetch(e.request)));
  } else if (how === "page") {
    e.respondWith(page(e.request));
  }
});

/** Every address of the app is the same page: fresh if the server answers, stored if not. */
async function page(req: Request): Promise<Response> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error("the server is slow")), PAGE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([fetch(req), late]);
  } catch (err) {
    const stored = await caches.match("/", { cacheName: CACHE });
    if (stored) return stored;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
