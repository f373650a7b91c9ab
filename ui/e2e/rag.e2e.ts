// Retrieval in a real browser: a real `ctl up` with a vault reindexed by
// `ctl rag reindex` on the llama.cpp test server's embeddings. A chat with
// RAG on shows the answer's sources; a click opens the note at its
// heading; the job page has the retrieval step and the same sources.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { browser, newDevicePage, newPage, PHONE, screenshot, startUp, type Up } from "./harness";
import { fits, waitJob, type Job } from "./support";

interface Source {
  n: number;
  path: string;
  heading: string;
  line_start: number;
  line_end: number;
  score: number;
}
interface RagJob extends Job {
  sources?: Source[];
  vault?: string;
}

/** Long enough that the heading a source points to is far below the first screen. */
const filler = Array.from({ length: 50 }, (_, i) => `Line ${i + 1}.\n`).join("\n");

const NOTES: Record<string, string> = {
  "Projects/Zanzibar plan.md": `---\ntitle: Zanzibar plan\ntags: [project/zanzibar]\n---\n# Zanzibar plan\n\n${filler}\n## Migration\n\nThe zanzibar migration ships before spring, on the blue cluster.\nSee [[Runbook#Rollback|the rollback steps]].\n`,
  "Runbook.md": "# Runbook\n\n## Rollback\n\nStop the writers, restore the snapshot, start the writers.\n",
  "Recipes/Bread.md": "# Bread\n\nFlour, water, salt and time.\n",
};

let b: Browser;
let up: Up;
let vault: string;
beforeAll(async () => {
  b = await browser();
  vault = join(process.env.TMPDIR ?? "/tmp", `ctl-e2e-rag-${process.pid}`);
  for (const [path, text] of Object.entries(NOTES)) {
    mkdirSync(join(vault, path, ".."), { recursive: true });
    writeFileSync(join(vault, path), text);
  }
  up = await startUp({
    tokenDelayMs: 5,
    // The tiny model's window is 2,048 tokens: keep the sources well inside it.
    config: `[rag]\nvault = "${vault}"\nembed_model = "local:tiny"\ncontext_tokens = 600\n`,
  });
  await up.ctl(["rag", "reindex"]);
});
afterAll(async () => {
  await up?.stop();
  await b?.close();
});

/** Turns RAG on in the composer (its picker folds away behind "options" on a phone). */
async function ragOn(page: Page) {
  const toggle = page.locator("button.options-toggle");
  if (await toggle.isVisible()) await toggle.click();
  const picker = page.locator('form.composer summary[aria-label="retrieval"]');
  await picker.click();
  await page.getByRole("checkbox", { name: "answer from the vault, with sources" }).check();
  await picker.click();
  expect(await picker.textContent()).toBe("RAG: default vault");
}

describe("a chat that answers from the vault", () => {
  let page: Page;
  let jobId = "";
  beforeAll(async () => {
    page = await newPage(b);
  });
  afterAll(async () => {
    await page?.context().close();
  });

  test("with RAG on, the answer lists its sources, numbered, as the job recorded them", async () => {
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    await page.fill('input[aria-label="max tokens"]', "24");
    await ragOn(page);
    await page.fill("#prompt", "When does the zanzibar migration ship?");
    await page.keyboard.press("Control+Enter");

    const answer = page.locator("article.msg.assistant:not(.streaming)").last();
    await answer.waitFor({ timeout: 90_000 });
    jobId = (await answer.locator("header a").getAttribute("href"))!.split("/").pop()!;
    const job = await waitJob(up, jobId);
    expect(job.state).toBe("completed");
    const view = await up.call<RagJob>("GET", `/api/v1/jobs/${jobId}`);
    expect(view.vault).toBe("default");
    expect(view.sources?.length).toBeGreaterThan(0);
    // The lexical index puts the only note that says "zanzibar migration" first.
    expect(view.sources?.[0]?.path).toBe("Projects/Zanzibar plan.md");

    const items = answer.locator('[data-testid="sources"] li');
    await expect.poll(() => items.count()).toBe(view.sources!.length);
    const shown = await items.allTextContents();
    expect(shown).toEqual(
      view.sources!.map((s) => {
        const h = s.heading ? `#${s.heading.split(" > ").pop()}` : "";
        return `[${s.n}]${s.path}${h}:${s.line_start}-${s.line_end}${s.score.toPrecision(3)}`;
      }),
    );
    // The inspector lists them too.
    expect(await page.getByTestId("inspector-retrieval").textContent()).toBe("augment from default");
    expect(await page.locator('.inspector [data-testid="sources"] li').count()).toBe(view.sources!.length);
    await screenshot(page, "chat-rag");
  });

  test("a click on a source opens the note, read-only, scrolled to its heading", async () => {
    const answer = page.locator("article.msg.assistant:not(.streaming)").last();
    const first = answer.locator('[data-testid="sources"] a').first();
    expect(await first.textContent()).toMatch(/^\[1\]Projects\/Zanzibar plan\.md#Migration:\d+-\d+$/);
    await first.click();
    await page.waitForURL(/\/note\/Projects\/Zanzibar%20plan\.md\?/);
    const target = page.locator('[data-testid="note"] .target');
    await target.waitFor();
    expect(await target.textContent()).toBe("Migration");
    // In view: the page scrolled down to it, past the long preamble.
    const box = (await target.boundingBox())!;
    expect(box.y).toBeGreaterThanOrEqual(0);
    expect(box.y).toBeLessThan(page.viewportSize()!.height);
    expect(await page.locator(".page.note").evaluate((el) => el.scrollTop)).toBeGreaterThan(200);
    expect(await page.locator('[data-testid="note"]').textContent()).toContain("See the rollback steps.");
    await page.goBack();
    await page.waitForSelector("#prompt");
  });

  test("the job page shows the retrieval step and the sources in its summary", async () => {
    await page.goto(`${up.url}/job/${jobId}`);
    const row = page.locator('[data-testid="timeline"] tr', { has: page.locator(".ev-retrieval") });
    await row.waitFor();
    expect(await row.locator("summary").textContent()).toMatch(/^augment from default · \d+ sources? · “When does the zanzibar migration ship\?”$/);
    await row.locator("summary").click();
    expect(await row.locator('pre[aria-label="sources"]').textContent()).toMatch(/^\[1\] Projects\/Zanzibar plan\.md#Migration:\d+-\d+ {2}\d/);
    // The retrieval step comes before the first token.
    const types = await page.locator('[data-testid="timeline"] tbody tr td:nth-child(3)').allTextContents();
    expect(types.indexOf("retrieval")).toBeLessThan(types.indexOf("token"));
    const details = page.locator('section[aria-label="details"] [data-testid="sources"] a').first();
    await details.click();
    await page.locator('[data-testid="note"] .target').waitFor();
    expect(await page.locator('[data-testid="note"] .target').textContent()).toBe("Migration");
  });
});

describe("on a phone", () => {
  test("RAG, the sources and the note view fit a 390 px screen, and at 360 px", async () => {
    const page = await newDevicePage(b, PHONE);
    try {
      await page.goto(up.loginUrl);
      await page.waitForSelector("#prompt");
      await ragOn(page);
      await fits(page, "the composer with the RAG picker");
      await page.fill("#prompt", "What is in the runbook rollback?");
      await page.locator('form.composer button[type="submit"]').click();
      const answer = page.locator("article.msg.assistant:not(.streaming)").last();
      await answer.waitFor({ timeout: 90_000 });
      await answer.locator('[data-testid="sources"] li').first().waitFor();
      await fits(page, "an answer with sources");
      await screenshot(page, "chat-rag-phone");
      await answer.locator('[data-testid="sources"] a').first().click();
      await page.locator('[data-testid="note"]').waitFor();
      await fits(page, "the note view");
      await page.setViewportSize({ width: 360, height: 780 });
      await fits(page, "the note view");
    } finally {
      await page.context().close();
    }
  });
});
