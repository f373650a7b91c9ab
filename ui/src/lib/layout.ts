// The layout by width, for code that must know it (drawers, row heights).
// The same two breakpoints are the only widths the CSS may use in a media
// query (`layout.test.ts` checks): phone below 768 px (one pane at a time),
// tablet below 1100 px (two panes), desktop from 1100 px (three).
import { useEffect, useSyncExternalStore } from "react";

export const BREAKPOINTS = { tablet: 768, desktop: 1100 } as const;

/** Below which layout a pane stops being inline and becomes a drawer. */
export type Collapse = "phone" | "tablet";

/** The media query that holds while a `collapse` pane is a drawer. */
export const below = (c: Collapse): string =>
  `(width < ${c === "phone" ? BREAKPOINTS.tablet : BREAKPOINTS.desktop}px)`;

/** Whether `query` matches now, re-rendering when that changes. */
export function useMedia(query: string): boolean {
  return useSyncExternalStore(
    (f) => {
      const m = window.matchMedia?.(query);
      m?.addEventListener("change", f);
      return () => m?.removeEventListener("change", f);
    },
    () => window.matchMedia?.(query).matches ?? false,
  );
}

/** True on a phone-sized screen (one pane at a time, cards for tables). */
export const usePhone = (): boolean => useMedia(below("phone"));

/** A screen too short for a full prompt bar (a phone held sideways): the prompt starts at one line and folds its options. */
export const SHORT = "(height < 500px)";

/**
 * Keeps `--app-h` at the height the page can really use: the visual
 * viewport, which shrinks when an on-screen keyboard opens (iOS overlays
 * the keyboard instead of resizing the page; Android Chrome resizes it,
 * thanks to `interactive-widget=resizes-content`). So the prompt at the
 * bottom of the app stays above the keyboard either way.
 */
export function useViewportHeight(): void {
  useEffect(() => {
    const vv = window.visualViewport;
    if (!vv) return;
    const root = document.documentElement;
    const update = () => {
      // Pinch-zoomed, the visual viewport is a part of the page, not the screen.
      if (vv.scale > 1.01) return;
      root.style.setProperty("--app-h", `${Math.round(vv.height)}px`);
      // iOS scrolls the page up under the keyboard; the app is already
      // sized to what is visible, so put it back.
      if (window.scrollY !== 0) window.scrollTo(0, 0);
    };
    update();
    vv.addEventListener("resize", update);
    return () => {
      vv.removeEventListener("resize", update);
      root.style.removeProperty("--app-h");
    };
  }, []);
}
