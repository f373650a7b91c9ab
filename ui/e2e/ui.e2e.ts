// The web UI in a real browser against a real `ctl up` and llama.cpp.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { browser, newPage, screenshot, sleep, startUp, type Up } from "./harness";
import { shownText, waitJob, type Job } from "./support";

/** The skills picker of the prompt (the tools picker sits beside it). */
const SKILLS = 'form.composer summary[aria-label="skills"]';

let b: Browser;
beforeAll(async () => {
  b = await browser();
});
afterAll(async () => {
  await b?.close();
});

async function setParams(page: Page, maxTokens: number) {
  await page.fill('input[aria-label="max tokens"]', String(maxTokens));
  await page.fill('input[aria-label="temperature"]', "0.8");
}

describe("chat", () => {
  let up: Up;
  let page: Page;
  beforeAll(async () => {
    // Short skills: the test model's context is 2,048 tokens.
    const skill = (name: string, say: string) => `---\nname: ${name}\ndescription: ${say}\n---\n${say}\n`;
    up = await startUp({ tokenDelayMs: 40, skills: { terse: skill("terse", "Answer in one line."), pirate: skill("pirate", "Talk like a pirate.") } });
    page = await newPage(b);
  });
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("the printed login URL logs straight in; a wrong token is refused on the login page", async () => {
    const anon = await newPage(b);
    await anon.goto(up.url + "/queue");
    await anon.getByLabel("API token").fill("ctl_wrong");
    await anon.getByRole("button", { name: "log in" }).click();
    await expect.poll(() => anon.getByRole("alert").textContent()).toContain("invalid or revoked");
    await screenshot(anon, "login");
    await anon.context().close();

    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    expect(new URL(page.url()).search).toBe(""); // the token left the address bar
  });

  test("tokens stream into the conversation and the inspector counts them", async () => {
    await setParams(page, 40);
    // Two skills from the picker; the inspector shows them with short hashes.
    await page.locator(SKILLS).click();
    await page.getByRole("checkbox", { name: /^terse/ }).check();
    await page.getByRole("checkbox", { name: /^pirate/ }).check();
    await page.locator(SKILLS).click();
    expect(await page.locator(SKILLS).textContent()).toBe("skills: terse, pirate");
    // The model picker lists what the provider serves.
    await expect.poll(() => page.getByLabel("model", { exact: true }).locator("option").allTextContents()).toContain("local:tiny");
    await page.getByLabel("model", { exact: true }).selectOption("local:tiny");
    await page.fill("#prompt", "Write a short poem about queues.");
    await page.keyboard.press("Control+Enter");
    const streaming = page.locator("article.msg.streaming");
    await streaming.waitFor();
    // Text appears in pieces while the job is still running.
    const seen = new Set<number>();
    for (let i = 0; i < 100 && seen.size < 3; i++) {
      const text = (await streaming.locator(".md").textContent().catch(() => "")) ?? "";
      if ((await streaming.getAttribute("data-state")) === "active" && text.length > 0) seen.add(text.length);
      await sleep(30);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    // The recorded answer replaces the stream, word for word.
    const answer = page.locator('article.msg.assistant:not(.streaming)').last();
    await answer.waitFor({ timeout: 30_000 });
    const href = await answer.locator("header a").getAttribute("href");
    const job = await up.call<Job>("GET", `/api/v1/jobs/${href!.split("/").pop()}`);
    expect(job.state).toBe("completed");
    expect((await answer.locator(".md").textContent())?.trim()).toBe(shownText(job.output));
    expect(Number((await page.getByTestId("completion-tokens").textContent())?.replace(/\D/g, ""))).toBe(job.usage?.completion_tokens);
    expect(await page.getByTestId("inspector-state").textContent()).toBe("completed");
    const skills = await up.call<{ name: string; sha256: string }[]>("GET", `/api/v1/jobs/${job.id}/skills`);
    expect(skills.map((s) => s.name)).toEqual(["terse", "pirate"]);
    await expect.poll(() => page.locator(".inspector .chip").allTextContents()).toEqual(skills.map((s) => `${s.name} ${s.sha256.slice(0, 8)}`));
    // Later messages in this test go without skills.
    await page.locator(SKILLS).click();
    await page.getByRole("checkbox", { name: /^terse/ }).uncheck();
    await page.getByRole("checkbox", { name: /^pirate/ }).uncheck();
    await page.locator(SKILLS).click();
    // The session got a title from the first message and is listed.
    await expect.poll(() => page.locator(".session.current .title").textContent()).toContain("Write a short poem");
  });

  test("Stop cancels the running job", async () => {
    await setParams(page, 400);
    await page.fill("#prompt", "Tell me a very long story.");
    await page.keyboard.press("Control+Enter");
    await page.locator('article.msg.streaming[data-state="active"]').waitFor();
    const streaming = page.locator("article.msg.streaming");
    await expect.poll(async () => ((await streaming.locator(".md").textContent().catch(() => "")) ?? "").length, { timeout: 20_000 }).toBeGreaterThan(0);
    // Esc stops it, even with the focus still in the prompt.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("prompt");
    await page.keyboard.press("Escape");
    await expect.poll(() => streaming.getAttribute("data-state"), { timeout: 10_000 }).toBe("cancelled");
    const href = await streaming.locator("header a").getAttribute("href");
    const job = await waitJob(up, href!.split("/").pop()!);
    expect(job.state).toBe("cancelled");
    expect(await page.getByRole("button", { name: /send/ }).isVisible()).toBe(true);

    // And so does the Stop button.
    await page.fill("#prompt", "Another long one.");
    await page.keyboard.press("Control+Enter");
    const second = page.locator('article.msg.streaming[data-state="active"]');
    await expect.poll(async () => ((await second.locator(".md").textContent().catch(() => "")) ?? "").length, { timeout: 20_000 }).toBeGreaterThan(0);
    const secondHref = (await second.locator("header a").getAttribute("href"))!;
    expect(secondHref).not.toBe(href);
    await page.getByRole("button", { name: /stop/ }).click();
    expect((await waitJob(up, secondHref.split("/").pop()!)).state).toBe("cancelled");
  });

  test("a reload in the middle of a stream loses nothing", async () => {
    await setParams(page, 60);
    await page.fill("#prompt", "Count slowly.");
    await page.keyboard.press("Control+Enter");
    const streaming = page.locator('article.msg.streaming[data-state="active"]');
    await expect.poll(async () => ((await streaming.locator(".md").textContent().catch(() => "")) ?? "").length, { timeout: 20_000 }).toBeGreaterThan(5);
    const href = (await streaming.locator("header a").getAttribute("href"))!;
    const before = await up.call<Job>("GET", `/api/v1/jobs/${href.split("/").pop()}`);
    expect(before.state).toBe("active");
    await page.reload();
    const answer = page.locator(`article.msg.assistant:not(.streaming):has(a[href="${href}"])`);
    await answer.waitFor({ timeout: 30_000 });
    const job = await up.call<Job>("GET", `/api/v1/jobs/${href.split("/").pop()}`);
    expect(job.state).toBe("completed");
    expect(job.usage?.completion_tokens).toBe(60);
    expect((await answer.locator(".md").textContent())?.trim()).toBe(shownText(job.output));
    await screenshot(page, "chat");
  });

  test("job detail: replay with other parameters, then diff the two runs", async () => {
    const first = page.locator("article.msg.assistant:not(.streaming) header a").first();
    const href = (await first.getAttribute("href"))!;
    await first.click();
    await page.waitForURL(`**${href}`);
    await page.getByTestId("timeline").waitFor();
    expect(await page.getByTestId("timeline").textContent()).toContain("done");
    await page.getByRole("button", { name: "replay…" }).click();
    await page.getByLabel("replay parameters").fill('{"temperature": 1.5, "seed": 42}');
    await page.getByRole("button", { name: "replay", exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/job/") && !u.pathname.endsWith(href.split("/").pop()!));
    const replayId = page.url().split("/").pop()!;
    const replay = await waitJob(up, replayId);
    expect(replay.state).toBe("completed");
    await expect.poll(() => page.locator(".siblings tbody tr").count()).toBe(2);
    await page.locator(".siblings").getByRole("link", { name: "diff" }).click();
    const diff = page.getByRole("region", { name: "diff" });
    await diff.waitFor();
    expect(await diff.getByRole("table", { name: "differing fields" }).textContent()).toContain("temperature");
    await diff.getByRole("button", { name: "side by side" }).click();
    await diff.getByRole("table", { name: "side by side diff" }).waitFor();
    await diff.evaluate((el) => el.scrollIntoView({ block: "start" }));
    await screenshot(page, "diff");
    await page.locator(".page").evaluate((el) => (el.scrollTop = 0));
    await screenshot(page, "job");
  });
});

describe("a dropped connection", () => {
  let up: Up;
  let page: Page;
  beforeAll(async () => {
    // The server and the worker are separate processes, so the server can
    // die mid-stream while the job goes on.
    up = await startUp({ worker: false, tokenDelayMs: 40 });
    up.spawn(["worker"]);
    page = await newPage(b);
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
  });
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("the stream resumes where it broke off when the server comes back", async () => {
    await setParams(page, 80);
    await page.fill("#prompt", "Keep going.");
    await page.keyboard.press("Control+Enter");
    const streaming = page.locator('article.msg.streaming[data-state="active"]');
    await expect.poll(async () => ((await streaming.locator(".md").textContent().catch(() => "")) ?? "").length, { timeout: 20_000 }).toBeGreaterThan(5);
    const href = (await streaming.locator("header a").getAttribute("href"))!;
    await up.restart(); // SIGKILL: the browser's connection drops
    const answer = page.locator(`article.msg.assistant:not(.streaming):has(a[href="${href}"])`);
    await answer.waitFor({ timeout: 40_000 });
    const job = await up.call<Job>("GET", `/api/v1/jobs/${href.split("/").pop()}`);
    expect(job.state).toBe("completed");
    expect(job.usage?.completion_tokens).toBe(80);
    expect((await answer.locator(".md").textContent())?.trim()).toBe(shownText(job.output));
  });
});

describe("queue", () => {
  let up: Up;
  let page: Page;
  const N = 10_000;
  beforeAll(async () => {
    // No worker: the jobs stay queued, so the page has 10,000 live rows.
    up = await startUp({ worker: false });
    let next = 0;
    const submit = async () => {
      while (next < N) {
        const i = next++;
        await up.call("POST", "/api/v1/jobs", {
          prompt: `job number ${i}`,
          model: i % 3 === 0 ? "local:tiny" : "local:other",
          skills: i % 5 === 0 ? ["summarize"] : [],
        });
      }
    };
    await Promise.all(Array.from({ length: 8 }, submit));
    page = await newPage(b);
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
  }, 600_000);
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("lists 10,000 jobs, filters them, and bulk-cancels a selection", async () => {
    await page.getByRole("link", { name: "queue" }).click();
    await expect.poll(() => page.getByTestId("queue-count").textContent(), { timeout: 60_000 }).toBe("10,000 of 10,000 jobs");
    // Only a screenful of rows is in the DOM.
    expect(await page.locator(".queue-list [role=row]").count()).toBeLessThan(80);
    await page.getByTestId("queue-list").evaluate((el) => (el.scrollTop = el.scrollHeight));
    // The oldest job is one of the first eight submitted (eight submitters ran at once).
    await expect.poll(() => page.locator(".queue-list [role=row]").last().textContent()).toMatch(/job number [0-7]$/);
    await page.getByTestId("queue-list").evaluate((el) => (el.scrollTop = 0));

    await page.getByLabel("filter by skill").selectOption("summarize");
    expect(await page.getByTestId("queue-count").textContent()).toBe("2,000 of 10,000 jobs");
    await page.getByLabel("filter by skill").selectOption("");
    await page.getByLabel("filter by model").selectOption("local:tiny");
    expect(await page.getByTestId("queue-count").textContent()).toBe("3,334 of 10,000 jobs");

    // Keyboard: move to the third row, select three rows, cancel them.
    await page.locator("body").click({ position: { x: 5, y: 5 } });
    for (const k of ["j", "j", "x", "j", "x", "j", "x"]) await page.keyboard.press(k);
    const chosen = await page.locator(".queue-row.selected").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-id")));
    expect(chosen).toHaveLength(3);
    await page.getByRole("button", { name: "cancel 3 selected" }).click();
    await expect.poll(() => page.getByRole("status").textContent()).toBe("cancelled 3 jobs");
    for (const id of chosen) expect((await up.call<Job>("GET", `/api/v1/jobs/${id}`)).state).toBe("cancelled");
    await page.getByLabel("filter by state").selectOption("cancelled");
    await expect.poll(() => page.getByTestId("queue-count").textContent()).toBe("3 of 10,000 jobs");
    await page.getByLabel("filter by state").selectOption("");
    await page.getByLabel("filter by model").selectOption("");
    await screenshot(page, "queue");
  });
});

describe("keyboard only", () => {
  let up: Up;
  let page: Page;
  beforeAll(async () => {
    up = await startUp();
    page = await newPage(b);
  });
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("chat, open the job from the queue, replay it and see stats without the mouse", async () => {
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    await page.keyboard.press("Escape");
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("prompt");
    await page.keyboard.type("Hello from the keyboard.");
    await page.keyboard.press("Control+Enter");
    await page.locator("article.msg.assistant:not(.streaming)").waitFor({ timeout: 30_000 });

    await page.keyboard.press("Escape"); // leave the prompt
    await page.keyboard.press("g");
    await page.keyboard.press("q");
    await page.waitForURL("**/queue");
    await expect.poll(() => page.getByTestId("queue-count").textContent()).toBe("1 of 1 jobs");
    await page.keyboard.press("j");
    await page.keyboard.press("Enter");
    await page.waitForURL("**/job/*");
    const original = page.url().split("/").pop()!;
    await page.getByTestId("timeline").waitFor();
    await page.keyboard.press("r");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe("replay model");
    await page.keyboard.press("Tab");
    await page.keyboard.type('{"seed": 7}');
    await page.keyboard.press("Enter");
    await page.waitForURL((u) => u.pathname.startsWith("/job/") && !u.pathname.endsWith(original));
    await waitJob(up, page.url().split("/").pop()!);

    await page.keyboard.press("g");
    await page.keyboard.press("s");
    await page.waitForURL("**/stats");
    await expect.poll(() => page.getByTestId("stats-by-model").textContent()).toContain("local:tiny");
    await screenshot(page, "stats");
    await page.keyboard.press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await screenshot(page, "shortcuts");
    await page.keyboard.press("Escape");
    expect(await page.getByRole("dialog").count()).toBe(0);
    await page.keyboard.press("g");
    await page.keyboard.press("c");
    await page.waitForURL((u) => u.pathname === "/");
  });
});
