// The palette meets WCAG AA (4.5:1 for text) on every background it is used on.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";

const css = readFileSync(join(import.meta.dirname, "styles.css"), "utf8");
const vars = Object.fromEntries([...css.matchAll(/--([a-z-]+):\s*(#[0-9a-f]{6})/g)].map((m) => [m[1]!, m[2]!]));

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
const ratio = (a: string, b: string) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
};

test.each([
  ["text", ["bg", "panel", "raised", "accent-bg", "del-bg", "add-bg"]],
  ["bright", ["bg", "panel", "raised", "accent-bg", "del-bg", "add-bg"]],
  ["dim", ["bg", "panel", "raised", "accent-bg"]],
  ["accent", ["bg", "panel", "raised", "accent-bg"]],
  ["danger", ["bg", "panel", "raised", "accent-bg"]],
  ["warn", ["bg", "panel", "raised"]],
  ["info", ["bg", "panel", "raised"]],
] as const)("%s text is readable on its backgrounds", (fg, bgs) => {
  for (const bg of bgs) {
    expect(vars[fg], fg).toBeDefined();
    expect(vars[bg], bg).toBeDefined();
    expect(ratio(vars[fg]!, vars[bg]!), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
  }
});
