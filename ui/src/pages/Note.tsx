// A note of the vault, read-only: rendered markdown, opened at the heading
// a source points to (`?heading=A > B&lines=3-9`), which is marked.
import { useLayoutEffect, useMemo, useRef } from "react";
import { readNote } from "../api/client";
import { Markdown } from "../components/Markdown";
import { useLoad } from "../lib/data";
import { useSearch } from "../lib/router";

/** Splits YAML front matter (`---` … `---` at the top) from the body. */
export function splitFrontMatter(text: string): { front?: string; body: string } {
  const m = /^---\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)\r?\n?/.exec(text);
  return m ? { front: m[1], body: text.slice(m[0].length) } : { body: text };
}

/** `[[note]]`, `[[note|alias]]`, `[[note#heading]]` and `![[embed]]` read as their text. */
export function plainWikilinks(text: string): string {
  return text.replace(/!?\[\[([^\]|]+?)(?:\|([^\]]+))?\]\]/g, (_m, target: string, alias?: string) => alias ?? target);
}

const norm = (s: string) => s.replace(/\s+/g, " ").trim().toLowerCase();

/**
 * The element of the heading a source names: its path from the top
 * (`A > B > C`), matched in order so a repeated `C` under another parent
 * is not taken; failing that, the last heading of that name.
 */
export function findHeading(root: HTMLElement, path: string): HTMLElement | undefined {
  const want = path.split(" > ").map(norm).filter(Boolean);
  if (want.length === 0) return undefined;
  const hs = Array.from(root.querySelectorAll<HTMLElement>("h1, h2, h3, h4, h5, h6"));
  let i = 0;
  let found: HTMLElement | undefined;
  for (const h of hs) {
    if (norm(h.textContent ?? "") === want[i]) {
      found = h;
      if (++i === want.length) return h;
    }
  }
  const last = want[want.length - 1];
  return hs.filter((h) => norm(h.textContent ?? "") === last).pop() ?? (i > 0 ? found : undefined);
}

export function NotePage({ path }: { path: string }) {
  const search = useSearch();
  const vault = search.get("vault") ?? undefined;
  const heading = search.get("heading") ?? "";
  const lines = search.get("lines") ?? "";
  const note = useLoad((signal) => readNote(path, vault, signal), [path, vault]);
  const { front, body } = useMemo(() => splitFrontMatter(note.data?.text ?? ""), [note.data]);
  const shown = useMemo(() => plainWikilinks(body), [body]);
  const content = useRef<HTMLDivElement>(null);

  // Once rendered, bring the source's heading into view and mark it.
  useLayoutEffect(() => {
    const root = content.current;
    if (!root || !note.data) return;
    root.querySelectorAll(".target").forEach((el) => el.classList.remove("target"));
    const h = heading ? findHeading(root, heading) : undefined;
    if (!h) return;
    h.classList.add("target");
    h.tabIndex = -1;
    h.scrollIntoView({ block: "start" });
    h.focus({ preventScroll: true });
  }, [note.data, heading, shown]);

  return (
    <div className="page note">
      <header className="page-head">
        <h1 className="ellipsis" title={path}>
          {path}
        </h1>
        <span className="spacer" />
        <button type="button" className="ghost" onClick={() => history.back()}>
          back
        </button>
      </header>
      <p className="dim small" data-testid="note-where">
        {note.data?.vault ?? vault ?? "default vault"}
        {heading ? ` · ${heading}` : ""}
        {lines ? ` · lines ${lines}` : ""} · read-only
      </p>
      {note.error && <p className="error" role="alert">{note.error}</p>}
      {!note.data && !note.error && <p className="dim">loading…</p>}
      {front && (
        <details className="front-matter">
          <summary className="dim">front matter</summary>
          <pre className="raw">{front}</pre>
        </details>
      )}
      {note.data && (
        <div ref={content} className="card note-body" data-testid="note">
          <Markdown text={shown} />
        </div>
      )}
    </div>
  );
}
