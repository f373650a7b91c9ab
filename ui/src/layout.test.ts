// The CSS changes layout only at the two breakpoints the code knows
// (lib/layout.ts), so a pane is a drawer exactly when its button shows.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { below, BREAKPOINTS } from "./lib/layout";

const sheets = ["styles.css", "layout.css"].map((f) => [f, readFileSync(join(import.meta.dirname, f), "utf8")] as const);

test("every media query names a layout breakpoint, a pointer or a motion preference", () => {
  const allowed = new Set([below("phone"), below("tablet"), "(pointer: coarse)", "(prefers-reduced-motion: reduce)"]);
  expect(below("phone")).toBe(`(width < ${BREAKPOINTS.tablet}px)`);
  let seen = 0;
  for (const [file, css] of sheets) {
    for (const m of css.matchAll(/@media\s+([^{]+)\{/g)) {
      for (const part of m[1]!.split(",").map((p) => p.trim())) {
        expect(allowed, `${file}: @media ${m[1]!.trim()}`).toContain(part);
        seen++;
      }
    }
  }
  expect(seen).toBeGreaterThan(5);
});

test("the layout CSS says how a new part joins it", () => {
  const css = sheets.find(([f]) => f === "layout.css")![1];
  const head = css.slice(0, css.indexOf("*/"));
  for (const words of ["How a new part joins", "<Pane", "<TopBarActions", "--touch", "composer-options", "table stack", "scroll-x"]) {
    expect(head).toContain(words);
  }
});
