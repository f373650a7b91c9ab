// Keyboard shortcuts: single keys (`j`, `?`), two-key sequences (`g c`),
// and chords (`Ctrl+Enter`). Typing in a field never triggers a plain-key
// shortcut; Esc and chords still work there.
import { useEffect, useRef } from "react";

export interface Shortcut {
  keys: string; // "j", "g c", "ctrl+enter", "escape", "?"
  help: string;
  run: (e: KeyboardEvent) => void;
  /** Also fire while focus is in a text field. */
  inFields?: boolean;
}

export const GLOBAL_HELP: ReadonlyArray<[string, string]> = [
  ["/", "focus the prompt"],
  ["Ctrl+Enter", "send the prompt"],
  ["Esc", "stop the stream, or close a panel"],
  ["j / k", "move down / up in a list"],
  ["Enter", "open the selected item"],
  ["g c", "go to chat"],
  ["g q", "go to the queue"],
  ["g s", "go to stats"],
  ["n", "new chat (in chat)"],
  ["x", "select the job (in the queue)"],
  ["r", "replay (on a job)"],
  ["?", "show these shortcuts"],
];

export function isField(t: EventTarget | null): boolean {
  if (!(t instanceof HTMLElement)) return false;
  const tag = t.tagName;
  return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || t.isContentEditable;
}

export function keyName(e: KeyboardEvent): string {
  const k = e.key === " " ? "space" : e.key.toLowerCase();
  const mods = [e.ctrlKey || e.metaKey ? "ctrl" : "", e.altKey ? "alt" : ""].filter(Boolean);
  return [...mods, k].join("+");
}

/** Installs shortcuts for as long as the component is mounted. */
export function useShortcuts(shortcuts: Shortcut[]): void {
  const ref = useRef(shortcuts);
  ref.current = shortcuts;
  useEffect(() => {
    let pending: string | null = null;
    let timer = 0;
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.isComposing) return;
      const name = keyName(e);
      const field = isField(e.target);
      // Enter on a link or button belongs to that element.
      if (name === "enter" && e.target instanceof HTMLElement && e.target.closest("a, button, summary")) return;
      const seq = pending ? `${pending} ${name}` : name;
      const all = ref.current;
      const hit = all.find((s) => s.keys === seq && (!field || s.inFields));
      if (hit) {
        pending = null;
        e.preventDefault();
        hit.run(e);
        return;
      }
      if (!field && !pending && all.some((s) => s.keys.startsWith(`${name} `))) {
        pending = name;
        window.clearTimeout(timer);
        timer = window.setTimeout(() => (pending = null), 1200);
        return;
      }
      pending = null;
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      window.clearTimeout(timer);
    };
  }, []);
}
