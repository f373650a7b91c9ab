// The web UI on a phone and a tablet: Chromium's mobile emulation (touch,
// a device pixel ratio of 3, mobile viewport rules) against a real `ctl up`
// and the real llama.cpp server.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { browser, newDevicePage, PHONE, screenshot, sleep, startUp, TABLET, withProfilePage, type Up } from "./harness";
import { fits, shownText, waitJob, type Job } from "./support";

/** The skills picker of the prompt (the tools picker sits beside it). */
const SKILLS = 'form.composer summary[aria-label="skills"]';

let b: Browser;
beforeAll(async () => {
  b = await browser();
});
afterAll(async () => {
  await b?.close();
});

/** A one-finger swipe from one point to another, as a touch screen sends it. */
async function swipe(page: Page, from: { x: number; y: number }, to: { x: number; y: number }): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  const point = (f: number) => [{ x: from.x + (to.x - from.x) * f, y: from.y + (to.y - from.y) * f }];
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: point(0) });
  for (let i = 1; i <= 8; i++) {
    await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: point(i / 8) });
    await sleep(16);
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  await cdp.detach();
}

const drawer = (page: Page, name: string) => page.getByRole("dialog", { name });
const isOpen = (page: Page, name: string) => drawer(page, name).isVisible();

/** Sets the prompt's options (folded behind one button on a phone). */
async function options(page: Page, maxTokens: number): Promise<void> {
  const toggle = page.getByRole("button", { name: /^options/ });
  await toggle.tap();
  await page.getByLabel("max tokens").fill(String(maxTokens));
  await toggle.tap();
  expect(await page.getByLabel("max tokens").isVisible()).toBe(false);
}

async function send(page: Page, text: string): Promise<void> {
  await page.locator("#prompt").tap();
  await page.locator("#prompt").fill(text);
  await page.getByRole("button", { name: "send" }).tap();
}

const messages = (page: Page) =>
  page.getByTestId("messages").evaluate((el) => ({ top: el.scrollTop, height: el.scrollHeight, view: el.clientHeight }));

describe("on a phone (390 × 844, touch, 3 device pixels a CSS pixel)", () => {
  let up: Up;
  let page: Page;
  beforeAll(async () => {
    up = await startUp({ tokenDelayMs: 25 });
    page = await newDevicePage(b, PHONE);
  });
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("the app installs: a valid manifest, a service worker in control, nothing Chromium finds missing", async () => {
    // Chromium installs nothing from an incognito context: this one has a profile.
    await withProfilePage(PHONE, async (own) => {
      await own.goto(up.loginUrl);
      await own.locator("#prompt").waitFor();
      expect(await own.locator('meta[name="viewport"]').getAttribute("content")).toContain("width=device-width");
      await expect.poll(() => own.evaluate(() => navigator.serviceWorker.controller?.scriptURL), { timeout: 20_000 }).toBe(`${up.url}/sw.js`);
      const cdp = await own.context().newCDPSession(own);
      const manifest = (await cdp.send("Page.getAppManifest")) as { url: string; errors: { message: string }[]; data?: string };
      expect(manifest.url).toBe(`${up.url}/manifest.webmanifest`);
      expect(manifest.errors).toEqual([]);
      const m = JSON.parse(manifest.data ?? "{}") as { name: string; display: string; start_url: string };
      expect([m.name, m.display, m.start_url]).toEqual(["ctl", "standalone", "/"]);
      const install = (await cdp.send("Page.getInstallabilityErrors")) as { installabilityErrors: { errorId: string }[] };
      expect(install.installabilityErrors.map((e) => e.errorId)).toEqual([]);
    });
    await page.goto(up.loginUrl);
    await page.locator("#prompt").waitFor();
  });

  test("a message sent by touch streams in, and the view keeps to its end unless the reader scrolls up", async () => {
    await options(page, 400);
    // The prompt grows with its text.
    const prompt = page.locator("#prompt");
    await prompt.tap();
    const oneLine = (await prompt.boundingBox())!.height;
    await prompt.fill("Write a long story about a queue.\nMake it\nfour lines\nlong.");
    expect((await prompt.boundingBox())!.height).toBeGreaterThan(oneLine * 2);
    expect(await page.getByRole("button", { name: "send" }).isVisible()).toBe(true);
    await page.getByRole("button", { name: "send" }).tap();
    await expect.poll(async () => (await prompt.boundingBox())!.height).toBe(oneLine);

    const streaming = page.locator("article.msg.streaming");
    await streaming.waitFor();
    // Text arrives in pieces while the job runs; once it is taller than the
    // view, the view follows its end.
    const seen = new Set<number>();
    let followed = 0;
    for (let i = 0; i < 400 && followed < 5; i++) {
      const text = (await streaming.locator(".md").textContent().catch(() => "")) ?? "";
      if ((await streaming.getAttribute("data-state")) === "active" && text.length > 0) seen.add(text.length);
      const m = await messages(page);
      if (m.height > m.view + 100) {
        expect(m.height - m.top - m.view, "the newest text is in view").toBeLessThan(48);
        followed++;
      }
      await sleep(50);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
    expect(followed).toBe(5);
    // The reader swipes back up: the view stays where they put it while the text grows.
    const box = (await page.getByTestId("messages").boundingBox())!;
    await swipe(page, { x: box.x + box.width / 2, y: box.y + 60 }, { x: box.x + box.width / 2, y: box.y + box.height - 60 });
    const after = await messages(page);
    expect(after.height - after.top - after.view).toBeGreaterThan(100);
    await expect.poll(async () => (await messages(page)).height, { timeout: 10_000 }).toBeGreaterThan(after.height);
    expect(Math.abs((await messages(page)).top - after.top)).toBeLessThan(2);

    const answer = page.locator("article.msg.assistant:not(.streaming)").last();
    await answer.waitFor({ timeout: 60_000 });
    const job = await up.call<Job>("GET", `/api/v1/jobs/${(await answer.locator("header a").getAttribute("href"))!.split("/").pop()}`);
    expect(job.state).toBe("completed");
    expect((await answer.locator(".md").textContent())?.trim()).toBe(shownText(job.output));
    // Copying needs no hover: the button is there to tap.
    await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: up.url });
    await answer.getByRole("button", { name: "Copy message" }).tap();
    await answer.getByRole("button", { name: "copied" }).waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(job.output);
    await fits(page, "the chat");
    await page.getByTestId("messages").evaluate((el) => (el.scrollTop = 0));
    await screenshot(page, "phone-chat", false, 1.5);
  });

  test("the prompt stays above the on-screen keyboard", async () => {
    await page.locator("#prompt").tap();
    // Android Chrome resizes the page for the keyboard (the viewport tag asks for
    // it): the same as a shorter screen.
    await page.setViewportSize({ width: PHONE.width, height: PHONE.height - 330 });
    try {
      await expect.poll(async () => {
        const r = (await page.locator("#prompt").boundingBox())!;
        return r.y + r.height;
      }).toBeLessThanOrEqual(PHONE.height - 330);
      expect(await page.evaluate(() => document.activeElement?.id)).toBe("prompt");
      const send = (await page.getByRole("button", { name: "send" }).boundingBox())!;
      expect(send.y + send.height).toBeLessThanOrEqual(PHONE.height - 330);
    } finally {
      await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
    }
  });

  test("the sessions drawer opens from the top bar and switches session; Esc, a tap outside and a swipe close it", async () => {
    const chats = page.getByRole("button", { name: "chats" });
    expect(await isOpen(page, "chat sessions")).toBe(false);
    // A second chat, begun from the drawer.
    await chats.tap();
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(true);
    await drawer(page, "chat sessions").getByRole("button", { name: "+ new chat" }).tap();
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(false);
    await page.waitForURL((u) => u.pathname === "/");
    await options(page, 20);
    await send(page, "A second, short chat.");
    await page.waitForURL("**/chat/*");
    const second = new URL(page.url()).pathname;
    await page.locator("article.msg.assistant:not(.streaming)").waitFor({ timeout: 30_000 });

    await chats.tap();
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(true);
    expect(await chats.getAttribute("aria-expanded")).toBe("true");
    // The focus moved into the drawer, and a keyboard's Tab keeps it there.
    const inDrawer = () => page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]'));
    expect(await inDrawer()).toBe(true);
    for (const key of ["Tab", "Tab", "Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"]) {
      await page.keyboard.press(key);
      expect(await inDrawer(), key).toBe(true);
    }
    await expect.poll(() => drawer(page, "chat sessions").locator(".session").count()).toBe(2);
    await fits(page, "the sessions drawer");
    await screenshot(page, "phone-sessions", false, 1.5);
    const first = drawer(page, "chat sessions").locator(".session:not(.current) a");
    const firstHref = (await first.getAttribute("href"))!;
    await first.tap();
    await page.waitForURL(`**${firstHref}`);
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(false);
    await expect.poll(() => page.locator(".session-head h1").textContent()).toContain("Write a long story");

    // Esc closes it, and the focus returns to the button.
    await chats.tap();
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(true);
    await page.keyboard.press("Escape");
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(false);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("chats");
    // So does a tap outside it.
    await chats.tap();
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(true);
    await page.touchscreen.tap(PHONE.width - 20, PHONE.height / 2);
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(false);
    expect(new URL(page.url()).pathname).toBe(firstHref);
    // And a swipe back towards its edge.
    await chats.tap();
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(true);
    const box = (await drawer(page, "chat sessions").boundingBox())!;
    await swipe(page, { x: box.x + box.width - 30, y: box.y + box.height / 2 }, { x: box.x + 10, y: box.y + box.height / 2 + 10 });
    await expect.poll(() => isOpen(page, "chat sessions")).toBe(false);
    // A closed drawer is out of the focus order.
    expect(await drawer(page, "chat sessions").count()).toBe(0);
    expect(await page.locator('[inert] a[href="' + second + '"]').count()).toBe(1);
  });

  test("the inspector drawer opens the job; the job page replays it and diffs the runs, at 390 and 360 px", async () => {
    await page.getByRole("button", { name: "inspector" }).tap();
    await expect.poll(() => isOpen(page, "inspector")).toBe(true);
    await expect.poll(() => drawer(page, "inspector").getByTestId("inspector-state").textContent()).toBe("completed");
    await fits(page, "the inspector drawer");
    await screenshot(page, "phone-inspector", false, 1.5);
    const link = drawer(page, "inspector").locator("h2 a");
    const href = (await link.getAttribute("href"))!;
    await link.tap();
    await page.waitForURL(`**${href}`);
    await page.getByTestId("timeline").waitFor();
    await fits(page, "the job page");
    await screenshot(page, "phone-job", false, 1.5);

    await page.getByRole("button", { name: "replay…" }).tap();
    await page.getByLabel("replay parameters").fill('{"max_tokens": 60, "seed": 7}');
    await page.getByRole("button", { name: "replay", exact: true }).tap();
    await page.waitForURL((u) => u.pathname.startsWith("/job/") && u.pathname !== href);
    expect((await waitJob(up, page.url().split("/").pop()!)).state).toBe("completed");
    await expect.poll(() => page.locator(".siblings tbody tr").count()).toBe(2);
    await page.locator(".siblings").getByRole("link", { name: "diff" }).tap();
    const diff = page.getByRole("region", { name: "diff" });
    await diff.waitFor();
    await diff.getByRole("button", { name: "side by side" }).tap();
    await diff.getByRole("table", { name: "side by side diff" }).waitFor();
    for (const width of [PHONE.width, 360]) {
      await page.setViewportSize({ width, height: PHONE.height });
      await fits(page, "a diff of two runs");
    }
    await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
  });

  test("a running job is cancelled from its page", async () => {
    const { id } = await up.call<{ id: string }>("POST", "/api/v1/jobs", { prompt: "A very long answer, please.", params: { max_tokens: 400 } });
    await page.goto(`${up.url}/job/${id}`);
    await expect.poll(() => page.locator(".page-head .badge").textContent(), { timeout: 20_000 }).toBe("active");
    await expect.poll(async () => ((await page.getByTestId("output").textContent().catch(() => "")) ?? "").length).toBeGreaterThan(0);
    await page.getByRole("button", { name: "cancel" }).tap();
    expect((await waitJob(up, id)).state).toBe("cancelled");
    await expect.poll(() => page.locator(".page-head .badge").textContent()).toBe("cancelled");
    await page.getByRole("button", { name: "retry" }).waitFor();
  });

  test("every page fits a 390 and a 360 px screen, with touch-sized controls", async () => {
    const visit = async (to: string, ready: string) => {
      await page.getByRole("button", { name: "menu" }).tap();
      await expect.poll(() => isOpen(page, "menu")).toBe(true);
      await fits(page, "the menu");
      await drawer(page, "menu").getByRole("link", { name: to }).tap();
      await expect.poll(() => isOpen(page, "menu")).toBe(false);
      await page.locator(ready).first().waitFor();
    };
    await visit("stats", '[data-testid="stats-by-model"]');
    await screenshot(page, "phone-stats", false, 1.5);
    for (const [to, ready] of [["stats", '[data-testid="stats-by-model"]'], ["queue", ".queue-list [role=row]"], ["chat", "#prompt"]]) {
      await visit(to!, ready!);
      for (const width of [PHONE.width, 360]) {
        await page.setViewportSize({ width, height: PHONE.height });
        await fits(page, to!);
      }
      await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
    }
    // Held sideways, the phone gets the tablet's two panes, and the prompt
    // stays small so the conversation keeps room.
    await page.setViewportSize({ width: PHONE.height, height: PHONE.width });
    await fits(page, "the chat held sideways");
    expect(await page.getByRole("complementary", { name: "chat sessions" }).isVisible()).toBe(true);
    expect((await page.locator(".messages").boundingBox())!.height).toBeGreaterThan(PHONE.width / 2);
    await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
    // The prompt's options, unfolded, and the skills picker in them.
    await page.getByRole("button", { name: /^options/ }).tap();
    await page.locator(SKILLS).tap();
    await fits(page, "the prompt's options");
    await page.locator(SKILLS).tap();
    await page.getByRole("button", { name: /^options/ }).tap();
    // The shortcuts, from the menu.
    await page.getByRole("button", { name: "menu" }).tap();
    await drawer(page, "menu").getByRole("button", { name: "? keys" }).tap();
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await fits(page, "the shortcuts");
    await page.keyboard.press("Escape");
    // The login page.
    const anon = await newDevicePage(b, { ...PHONE, width: 360 });
    await anon.goto(up.url);
    await anon.getByLabel("API token").waitFor();
    await fits(anon, "the login page");
    await anon.context().close();
  });

  test("offline, the app opens from the stored shell and says so; nothing from the API was stored", async () => {
    await page.goto(up.url);
    await page.locator("#prompt").waitFor();
    const stored = await page.evaluate(async () => {
      const out: string[] = [];
      for (const name of await caches.keys()) for (const r of await (await caches.open(name)).keys()) out.push(new URL(r.url).pathname);
      return out;
    });
    expect(stored).toContain("/");
    expect(stored.some((p) => p.startsWith("/assets/") && p.endsWith(".js"))).toBe(true);
    expect(stored.filter((p) => /^\/(api|login)\b/.test(p))).toEqual([]);
    const shell = (await (await fetch(`${up.url}/sw.js`)).text()).match(/new Set\((\[[^\]]*\])\)/)?.[1];
    expect(stored.sort()).toEqual((JSON.parse(shell ?? "[]") as string[]).sort());

    await page.context().setOffline(true);
    try {
      // The open page says so at once, then a reload opens from the store.
      await expect.poll(() => page.getByRole("status").filter({ hasText: "offline" }).textContent()).toContain("offline: showing what was loaded");
      await page.reload();
      await expect.poll(() => page.getByRole("alert").textContent(), { timeout: 20_000 }).toContain("You are offline.");
      await fits(page, "the offline page");
      await screenshot(page, "phone-offline", false, 1.5);
    } finally {
      await page.context().setOffline(false);
    }
    // Back online, it reconnects by itself.
    await page.locator("#prompt").waitFor({ timeout: 20_000 });
  });
});

describe("the queue on a phone", () => {
  let up: Up;
  let page: Page;
  beforeAll(async () => {
    // No worker: the jobs stay queued.
    up = await startUp({ worker: false });
    for (let i = 0; i < 12; i++) {
      await up.call("POST", "/api/v1/jobs", { prompt: `phone job ${i}`, model: i % 3 === 0 ? "local:tiny" : "local:other" });
    }
    page = await newDevicePage(b, PHONE);
    await page.goto(up.loginUrl);
    await page.locator("#prompt").waitFor();
  });
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("jobs are cards with their state, model and age; filters and bulk select work by touch", async () => {
    await page.getByRole("button", { name: "menu" }).tap();
    await drawer(page, "menu").getByRole("link", { name: "queue" }).tap();
    await expect.poll(() => page.getByTestId("queue-count").textContent()).toBe("12 of 12 jobs");
    const card = page.locator(".queue-list [role=row]").first();
    expect(await card.locator(".q-state").textContent()).toBe("queued");
    expect(await card.locator(".q-model").textContent()).toBe("local:other");
    expect(await card.locator(".q-age").textContent()).toMatch(/^\d+[smh] ago$/);
    expect(await card.locator(".q-prompt").textContent()).toBe("phone job 11");
    // One card a row: the state sits on the same line as the id, the model under it.
    const [id, state, model] = await Promise.all([".q-id", ".q-state", ".q-model"].map((s) => card.locator(s).boundingBox()));
    expect(Math.abs(id!.y + id!.height / 2 - (state!.y + state!.height / 2))).toBeLessThan(4);
    expect(model!.y).toBeGreaterThan(id!.y + id!.height / 2);
    await fits(page, "the queue");

    await page.getByLabel("filter by model").selectOption("local:tiny");
    expect(await page.getByTestId("queue-count").textContent()).toBe("4 of 12 jobs");
    // Select two cards by their checkboxes, then all shown, then cancel.
    const rows = page.locator(".queue-list [role=row]");
    await rows.nth(0).getByRole("checkbox").tap();
    await rows.nth(1).getByRole("checkbox").tap();
    await page.getByRole("button", { name: "cancel 2 selected" }).waitFor();
    await screenshot(page, "phone-queue", false, 1.5);
    await page.getByLabel("select every job shown").tap();
    await page.getByRole("button", { name: "cancel 4 selected" }).tap();
    await expect.poll(() => page.getByRole("status").textContent()).toBe("cancelled 4 jobs");
    const listed = await up.call<{ jobs: Job[] }>("GET", "/api/v1/jobs?state=cancelled");
    expect(listed.jobs.length).toBe(4);
    await page.getByLabel("filter by state").selectOption("queued");
    await page.getByLabel("filter by model").selectOption("");
    expect(await page.getByTestId("queue-count").textContent()).toBe("8 of 12 jobs");
    // A card opens its job.
    await rows.first().locator(".q-id a").tap();
    await page.waitForURL("**/job/*");
    await page.getByRole("region", { name: "prompt" }).getByText("phone job 11").waitFor();
  });
});

describe("on a tablet (768 × 1024, touch)", () => {
  let up: Up;
  let page: Page;
  beforeAll(async () => {
    up = await startUp({ tokenDelayMs: 20 });
    page = await newDevicePage(b, TABLET);
  });
  afterAll(async () => {
    await page?.context().close();
    await up?.stop();
  });

  test("two panes: the sessions beside the conversation, the inspector a drawer; send, stream, open the job", async () => {
    await page.goto(up.loginUrl);
    await page.locator("#prompt").waitFor();
    // The sessions are inline (no button for them); the inspector is not.
    expect(await page.getByRole("complementary", { name: "chat sessions" }).isVisible()).toBe(true);
    expect(await page.getByRole("button", { name: "chats" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: "menu" }).count()).toBe(0);
    expect(await isOpen(page, "inspector")).toBe(false);
    await page.getByLabel("max tokens").fill("80");
    await send(page, "Tell me about tablets.");
    const streaming = page.locator('article.msg.streaming[data-state="active"]');
    await expect.poll(async () => ((await streaming.locator(".md").textContent().catch(() => "")) ?? "").length, { timeout: 20_000 }).toBeGreaterThan(5);
    const answer = page.locator("article.msg.assistant:not(.streaming)").last();
    await answer.waitFor({ timeout: 30_000 });
    const sessions = (await page.getByRole("complementary", { name: "chat sessions" }).boundingBox())!;
    const conversation = (await page.getByRole("region", { name: "conversation" }).boundingBox())!;
    expect(conversation.x).toBeGreaterThanOrEqual(sessions.x + sessions.width - 1);
    await fits(page, "the chat on a tablet");
    await screenshot(page, "tablet-chat", false, 1.5);

    await page.getByRole("button", { name: "inspector" }).tap();
    await expect.poll(() => isOpen(page, "inspector")).toBe(true);
    await expect.poll(() => drawer(page, "inspector").getByTestId("inspector-state").textContent()).toBe("completed");
    const href = (await drawer(page, "inspector").locator("h2 a").getAttribute("href"))!;
    await drawer(page, "inspector").locator("h2 a").tap();
    await page.waitForURL(`**${href}`);
    await page.getByTestId("timeline").waitFor();
    await fits(page, "the job page on a tablet");
    await page.getByRole("link", { name: "queue" }).tap();
    await expect.poll(() => page.getByTestId("queue-count").textContent()).toBe("1 of 1 jobs");
    await fits(page, "the queue on a tablet");
  });
});
