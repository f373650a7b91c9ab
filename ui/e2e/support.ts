// Helpers shared by the browser tests: job states from the API, the text
// a browser shows for an answer, and whether a page fits a phone.
import { JSDOM } from "jsdom";
import { expect } from "vitest";
import type { Page } from "playwright-core";
import { renderMarkdown } from "../src/components/Markdown";
import { sleep, type Up } from "./harness";

export interface Job {
  id: string;
  state: string;
  output: string;
  usage?: { completion_tokens: number } | null;
}

/** The text a browser shows for `markdown`, as the UI renders it. */
export const shownText = (markdown: string) => new JSDOM(renderMarkdown(markdown)).window.document.body.textContent?.trim();

/** Polls the job until it reaches one of `states`. */
export async function waitJob(up: Up, id: string, states = ["completed", "failed", "cancelled"]): Promise<Job> {
  for (let i = 0; i < 600; i++) {
    const j = await up.call<Job>("GET", `/api/v1/jobs/${id}`);
    if (states.includes(j.state)) return j;
    await sleep(100);
  }
  throw new Error(`job ${id} did not reach ${states.join("/")}`);
}

/** Everything that sticks out past the sides of a `width`-px screen, except inside the boxes that scroll on their own. */
async function overflow(page: Page, width: number): Promise<string[]> {
  return page.evaluate((width) => {
    const out: string[] = [];
    const name = (el: Element) =>
      `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ""}${el.className && typeof el.className === "string" ? `.${el.className.trim().split(/\s+/).join(".")}` : ""}> "${(el.textContent ?? "").trim().slice(0, 30)}"`;
    const doc = document.documentElement;
    if (doc.scrollWidth > width) out.push(`the document is ${doc.scrollWidth} px wide`);
    for (const el of document.querySelectorAll("body *")) {
      if (el.closest("pre, .diff, .scroll-x, .md table, [inert]")) continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 1 || r.height <= 1 || !el.checkVisibility({ visibilityProperty: true })) continue;
      if (r.left < -0.5 || r.right > width + 0.5) out.push(`${name(el)} spans ${Math.round(r.left)}..${Math.round(r.right)} px`);
    }
    return out;
  }, width);
}

/** Controls smaller than 44 × 44 CSS px (links inside running text excepted, as WCAG does). */
async function smallTargets(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const out: string[] = [];
    for (const el of document.querySelectorAll<HTMLElement>("a[href], button, input, select, textarea, summary, [role=button]")) {
      if (el.closest("[inert]") || (el.tagName === "A" && el.closest("p, .md"))) continue;
      if (el instanceof HTMLInputElement && el.type === "hidden") continue;
      const box = el instanceof HTMLInputElement && (el.type === "checkbox" || el.type === "radio") ? (el.closest("label") ?? el) : el;
      const r = box.getBoundingClientRect();
      if (r.width === 0 || r.height === 0 || !el.checkVisibility({ visibilityProperty: true })) continue;
      if (r.width < 43.5 || r.height < 43.5) {
        const label = el.getAttribute("aria-label") ?? el.textContent?.trim().slice(0, 30) ?? "";
        out.push(`<${el.tagName.toLowerCase()}> "${label}" is ${Math.round(r.width)} × ${Math.round(r.height)} px`);
      }
    }
    return out;
  });
}

/** Asserts the page fits its screen and its controls are touch-sized. */
export async function fits(page: Page, what: string): Promise<void> {
  const width = page.viewportSize()!.width;
  expect(await overflow(page, width), `${what} at ${width} px: sideways overflow`).toEqual([]);
  expect(await smallTargets(page), `${what} at ${width} px: touch targets`).toEqual([]);
}
