// Jobs that call tools, in a real browser: a real `ctl up` whose worker
// runs the real tools (`run_code` in bubblewrap, `vault_read` on a vault
// on disk) for a real llama.cpp server that calls them. The tiny model
// writes random text, but its calls are bound by a grammar to the schemas
// it is shown: `CTL_TEST_TOOL_SCHEMAS` shows it schemas with one valid
// instance each, so every run makes the same calls.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Browser, Page } from "playwright-core";
import { browser, newDevicePage, newPage, PHONE, screenshot, startUp, toolsLlm, type Llm, type Up } from "./harness";
import { fits, waitJob, type Job } from "./support";

/** Long enough to be seen running; prints 42. */
const SLOW_CODE = "import time; time.sleep(2); print(6*7)";

const one = (value: string) => ({ type: "string", enum: [value] });
const SCHEMAS = JSON.stringify({
  run_code: { type: "object", properties: { language: one("python"), code: one(SLOW_CODE) }, required: ["language", "code"] },
  // A loopback address: fetch refuses it, and the model is told why.
  fetch: { type: "object", properties: { url: one("http://127.0.0.1:9/") }, required: ["url"] },
  vault_read: { type: "object", properties: { path: one("notes/a.md") }, required: ["path"] },
});

interface Event {
  type: string;
  data: Record<string, unknown>;
}

interface ToolJob extends Job {
  tools?: string[];
  tool_stats?: { calls: number; errors: number; duration_ms: number };
  client?: { api: string; user_agent?: string; user?: string } | null;
}

let b: Browser;
let llm: Llm;
let up: Up;
beforeAll(async () => {
  b = await browser();
  llm = await toolsLlm();
  const dir = join(process.env.TMPDIR ?? "/tmp", `ctl-e2e-vault-${process.pid}`);
  mkdirSync(join(dir, "notes"), { recursive: true });
  writeFileSync(join(dir, "notes/a.md"), "# A\n\nThe answer is 42.\n");
  up = await startUp({
    llmUrl: llm.url,
    tokenDelayMs: 20,
    env: { CTL_TEST_TOOL_SCHEMAS: SCHEMAS },
    config: `[rag]\nvault = "${dir}"\n`,
  });
});
afterAll(async () => {
  await up?.stop();
  await llm?.stop();
  await b?.close();
});

/** A job's log, read over SSE the way the UI reads it. */
async function events(id: string): Promise<Event[]> {
  const r = await fetch(`${up.url}/api/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${up.token}` } });
  const text = await r.text();
  return text
    .split("\n\n")
    .map((frame) => {
      const type = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      return type && data ? { type, data: (JSON.parse(data) as { data: Record<string, unknown> }).data } : undefined;
    })
    .filter((e): e is Event => !!e);
}

describe("a chat that uses tools", () => {
  let page: Page;
  beforeAll(async () => {
    page = await newPage(b);
  });
  afterAll(async () => {
    await page?.context().close();
  });

  test("the tools picker lists the enabled tools and sends the chosen ones; the call shows in the answer while it runs, then its result", async () => {
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    await page.fill('input[aria-label="max tokens"]', "150");
    const picker = page.locator('form.composer summary[aria-label="tools"]');
    await picker.click();
    // GET /api/v1/tools: what this config enables, with what each touches.
    await expect.poll(() => page.getByRole("checkbox", { name: /^vault_read/ }).count()).toBe(1);
    expect(await page.getByRole("checkbox", { name: /^vault_read/ }).locator("xpath=..").textContent()).toContain("reads private data");
    await page.getByRole("checkbox", { name: /^run_code/ }).check();
    await page.getByLabel("tool choice").selectOption("run_code,none");
    await picker.click();
    expect(await picker.textContent()).toBe("tools: run_code");

    await page.fill("#prompt", "What is six times seven? Compute it.");
    await page.keyboard.press("Control+Enter");
    const streaming = page.locator("article.msg.streaming");
    await streaming.waitFor();
    // The sandboxed code sleeps two seconds: the row is there, running, before its result.
    const row = streaming.locator('[data-testid="tool-call"][data-tool="run_code"]');
    await expect.poll(() => row.getAttribute("data-status"), { timeout: 30_000 }).toBe("running");
    expect(await row.locator("summary").textContent()).toContain(`run_code${SLOW_CODE}running…`);
    expect(await page.getByTestId("inspector-tool-calls").textContent()).toBe("1");

    const answer = page.locator("article.msg.assistant:not(.streaming)").last();
    await answer.waitFor({ timeout: 60_000 });
    const id = (await answer.locator("header a").getAttribute("href"))!.split("/").pop()!;
    const job = await waitJob(up, id);
    expect(job.state).toBe("completed");
    // The recorded answer keeps its call, done, with its time and size; opened, the arguments and what the code printed.
    const done = answer.locator('[data-testid="tool-call"]');
    expect(await done.count()).toBe(1);
    expect(await done.getAttribute("data-status")).toBe("done");
    const log = await events(id);
    const result = log.find((e) => e.type === "tool_result")!.data as { duration_ms: number; bytes: number; result: string };
    expect(result.result).toContain("42");
    const line = (await done.locator("summary").textContent())!;
    expect(line).toMatch(/^→run_codeimport time; time\.sleep\(2\); print\(6\*7\)\d+(\.\d+)? m?s, \d+ B$/);
    await done.locator("summary").click();
    expect(JSON.parse((await done.locator("pre").first().textContent())!)).toEqual({ language: "python", code: SLOW_CODE });
    expect(await done.locator("pre").nth(1).textContent()).toBe(result.result);
    // The tool ran before the answer's text: the call comes first in the message.
    expect(await answer.evaluate((el) => [...el.children].slice(1).map((c) => c.className.split(" ")[0]))).toEqual(
      job.output ? ["tool-calls", "md"] : ["tool-calls"],
    );
    // What the job recorded, and the inspector says the same.
    const view = await up.call<ToolJob>("GET", `/api/v1/jobs/${id}`);
    expect(view.tools).toEqual(["run_code"]);
    expect(view.tool_stats?.calls).toBe(1);
    expect(await page.getByTestId("inspector-tools").textContent()).toBe("run_code");
    expect(await page.getByTestId("inspector-tool-calls").textContent()).toBe("1");
    const file = log.map((e) => e.type).filter((t) => t.startsWith("tool_"));
    expect(file).toEqual(["tool_call", "tool_result"]);
    await screenshot(page, "chat-tools");
  });

  test("an earlier answer's calls fold into one line that opens to them", async () => {
    // The next message goes without tools.
    const picker = page.locator('form.composer summary[aria-label="tools"]');
    await picker.click();
    await page.getByRole("checkbox", { name: /^run_code/ }).uncheck();
    expect(await page.getByLabel("tool choice").count()).toBe(0);
    await picker.click();
    await page.fill("#prompt", "Thanks.");
    await page.keyboard.press("Control+Enter");
    await expect.poll(() => page.locator("article.msg.assistant:not(.streaming)").count(), { timeout: 60_000 }).toBe(2);
    const [first, second] = [page.locator("article.msg.assistant").first(), page.locator("article.msg.assistant").nth(1)];
    const fold = first.locator(".tool-summary");
    await expect.poll(() => fold.locator("summary").textContent()).toMatch(/^1 tool call, \d/);
    expect(await second.locator(".tool-summary, [data-testid=tool-call]").count()).toBe(0);
    expect(await first.locator('[data-testid="tool-call"]').count()).toBe(0);
    await fold.locator("summary").click();
    await expect.poll(() => first.locator('[data-testid="tool-call"][data-status="done"]').count()).toBe(1);
  });
});

describe("a job that uses tools, on its page", () => {
  let id: string;
  beforeAll(async () => {
    // Round 1 fetches a page it may not, round 2 reads a note, round 3 answers.
    const prompt = join(up.dir, "prompt.txt");
    writeFileSync(prompt, "Fetch the page, then read note a.");
    const out = await up.ctl(["submit", "--tool", "fetch", "--tool", "vault_read", "--tool-choice", "fetch,vault_read,none", "-p", "max_tokens=60", prompt]);
    id = out.trim().split(/\s+/).pop()!;
    expect((await waitJob(up, id)).state).toBe("completed");
  });

  test("the timeline has a row for each call and result, opening to arguments and result; the details count calls, failures and time; a replay can reuse read-only results", async () => {
    const page = await newPage(b);
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    await page.goto(`${up.url}/job/${id}`);
    const timeline = page.getByTestId("timeline");
    await expect.poll(() => timeline.locator("tbody tr .badge").allTextContents()).toContain("done");
    const kinds = await timeline.locator("tbody tr .badge").allTextContents();
    expect(kinds.filter((k) => k.startsWith("tool_"))).toEqual(["tool_call", "tool_result", "tool_call", "tool_result"]);
    const details = await timeline.locator("details summary").allTextContents();
    expect(details[0]).toBe("fetch http://127.0.0.1:9/ · round 1");
    expect(details[1]).toMatch(/^fetch · \d+(\.\d+)? m?s · failed: .*127\.0\.0\.1/);
    expect(details[2]).toBe("vault_read notes/a.md · round 2");
    expect(details[3]).toMatch(/^vault_read · \d+(\.\d+)? m?s · \d+ B$/);
    await timeline.locator("details summary").nth(3).click();
    expect(await timeline.getByLabel("result").textContent()).toContain("The answer is 42.");

    const view = await up.call<ToolJob>("GET", `/api/v1/jobs/${id}`);
    expect(view.tool_stats).toMatchObject({ calls: 2, errors: 1 });
    expect(await page.getByTestId("tool-calls").textContent()).toBe("2");
    expect(await page.getByTestId("tool-errors").textContent()).toBe("1");
    // In the output, the failed call and the one that ran, in order.
    const rows = page.getByTestId("output").locator('[data-testid="tool-call"]');
    expect(await rows.evaluateAll((els) => els.map((e) => `${e.getAttribute("data-tool")} ${e.getAttribute("data-status")}`))).toEqual([
      "fetch error",
      "vault_read done",
    ]);
    expect(await page.getByTestId("client").count()).toBe(0);
    await screenshot(page, "job-tools", true);

    // A replay that reuses the read-only result instead of reading the note again.
    await page.getByRole("button", { name: "replay…" }).click();
    await page.getByRole("checkbox", { name: /^reuse this run's results/ }).check();
    await page.getByRole("button", { name: "replay", exact: true }).click();
    await page.waitForURL((u) => u.pathname.startsWith("/job/") && !u.pathname.endsWith(id));
    const replay = page.url().split("/").pop()!;
    expect((await waitJob(up, replay)).state).toBe("completed");
    const reused = (await events(replay)).filter((e) => e.type === "tool_result").map((e) => [e.data.tool, e.data.reused ?? false]);
    expect(reused).toEqual([["fetch", false], ["vault_read", true]]);
    const read = page.getByTestId("output").locator('[data-testid="tool-call"][data-tool="vault_read"] summary');
    await expect.poll(() => read.textContent()).toMatch(/, reused$/);
    await page.context().close();
  });

  test("on a phone at 390 and 360 px the calls fit, with touch-sized rows, in the chat and on the job's page", async () => {
    const page = await newDevicePage(b, PHONE);
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    // The chat of the first tests: its tools picker, and its answer with the call open.
    const { sessions } = await up.call<{ sessions: { id: string; title: string }[] }>("GET", "/api/v1/sessions");
    const chat = sessions.find((x) => x.title.startsWith("What is six times seven"))!;
    await page.goto(`${up.url}/chat/${chat.id}`);
    // Its first answer is an earlier one now: its calls are folded into a line.
    await page.locator("article.msg.assistant .tool-summary summary").tap();
    const call = page.locator('article.msg.assistant [data-testid="tool-call"] summary').first();
    await call.waitFor();
    await call.tap();
    await page.getByRole("button", { name: /^options/ }).tap();
    await page.locator('form.composer summary[aria-label="tools"]').tap();
    await page.getByRole("checkbox", { name: /^run_code/ }).check();
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: PHONE.height });
      await fits(page, "a chat with a tool call open, and the tools picker");
    }
    await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
    await page.goto(`${up.url}/job/${id}`);
    await page.getByTestId("timeline").locator("details").first().waitFor();
    for (const width of [390, 360]) {
      await page.setViewportSize({ width, height: PHONE.height });
      await fits(page, "a job with tool calls");
      await page.getByTestId("output").locator('[data-testid="tool-call"] summary').first().tap();
      await page.getByTestId("timeline").locator("details summary").first().tap();
      await fits(page, "a job with its tool calls open");
      await page.getByTestId("output").locator('[data-testid="tool-call"] summary').first().tap();
      await page.getByTestId("timeline").locator("details summary").first().tap();
    }
    await page.setViewportSize({ width: PHONE.width, height: PHONE.height });
    // The answer with its calls, the first one open.
    await page.getByTestId("output").locator('[data-testid="tool-call"] summary').nth(1).tap();
    await page.getByRole("region", { name: "output" }).evaluate((el) => el.scrollIntoView({ block: "start" }));
    await fits(page, "a job's answer with a call open");
    await screenshot(page, "phone-tools", false, 2);
    await page.context().close();
  });
});

describe("a job sent by a gateway client", () => {
  test("its page says which client sent it, through which API", async () => {
    const r = await fetch(`${up.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${up.token}`, "content-type": "application/json", "user-agent": "e2e-editor/1.0" },
      body: JSON.stringify({ model: "local:tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 5, user: "alice" }),
    });
    expect(r.status).toBe(200);
    const id = ((await r.json()) as { id: string }).id.replace(/^chatcmpl-/, "");
    const view = await up.call<ToolJob>("GET", `/api/v1/jobs/${id}`);
    expect(view.client).toMatchObject({ api: "openai", user_agent: "e2e-editor/1.0", user: "alice" });
    const page = await newPage(b);
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    await page.goto(`${up.url}/job/${id}`);
    await expect.poll(() => page.getByTestId("client").textContent()).toMatch(/^openai API · e2e-editor\/1\.0 · user alice/);
    await page.context().close();
  });

  test("a function the client runs itself shows as a call handed back to it", async () => {
    const weather = {
      type: "function",
      function: { name: "get_weather", description: "The weather in a city", parameters: { type: "object", properties: { city: one("Oslo") }, required: ["city"] } },
    };
    const r = await fetch(`${up.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${up.token}`, "content-type": "application/json" },
      body: JSON.stringify({
        model: "local:tiny",
        messages: [{ role: "user", content: "Weather in Oslo?" }],
        max_tokens: 60,
        tools: [weather],
        tool_choice: { type: "function", function: { name: "get_weather" } },
      }),
    });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { id: string; choices: { message: { tool_calls?: { function: { name: string } }[] } }[] };
    expect(body.choices[0]?.message.tool_calls?.map((c) => c.function.name)).toEqual(["get_weather"]);
    const id = body.id.replace(/^chatcmpl-/, "");
    const page = await newPage(b);
    await page.goto(up.loginUrl);
    await page.waitForSelector("#prompt");
    await page.goto(`${up.url}/job/${id}`);
    const row = page.getByTestId("output").locator('[data-testid="tool-call"]');
    await expect.poll(() => row.getAttribute("data-status")).toBe("client");
    expect(await row.locator("summary").textContent()).toBe("↗get_weatherOslofor the client to run");
    await expect.poll(() => page.getByTestId("timeline").textContent()).toContain("calls for the client: get_weather");
    await page.context().close();
  });
});
