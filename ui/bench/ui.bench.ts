// Web UI benchmarks (run by `bench/ui`, not part of the tests): the
// initial JS the browser must load, how long a 1,000-message chat takes
// to render, frame times while scrolling a 10,000-job queue, and a phone's
// repeat visits with and without the service worker, and offline. Writes
// ../target/bench/ui.json and ../target/bench/ui.md.
import { gzipSync } from "node:zlib";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { test } from "vitest";
import type { Page } from "playwright-core";
import { browser, newDevicePage, newPage, PHONE, startUp, type Up } from "../e2e/harness";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(ROOT, "../target/bench");
const ROUNDS = 5;
/** CTL_UI_BENCH_ONLY=session,queue runs part of the suite (for profiling). */
const ONLY = process.env.CTL_UI_BENCH_ONLY?.split(",");
const runs = (section: string) => !ONLY || ONLY.includes(section);

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** The JS a first visit loads before anything renders: the entry and its preloads. */
function initialJs() {
  const html = readFileSync(join(ROOT, "dist/index.html"), "utf8");
  const srcs = [...html.matchAll(/<(?:script[^>]*src|link[^>]*rel="modulepreload"[^>]*href)="([^"]+\.js)"/g)].map((m) => m[1]!);
  let raw = 0;
  let gz = 0;
  for (const s of srcs) {
    const bytes = readFileSync(join(ROOT, "dist", s));
    raw += bytes.length;
    gz += gzipSync(bytes).length;
  }
  const css = [...html.matchAll(/<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"/g)].map((m) => m[1]!);
  const cssGz = css.reduce((n, s) => n + gzipSync(readFileSync(join(ROOT, "dist", s))).length, 0);
  return { files: srcs, raw_kb: raw / 1024, gzip_kb: gz / 1024, css_gzip_kb: cssGz / 1024 };
}

/** A minimal OpenAI-compatible upstream answering every chat with some markdown. */
function upstream(): Promise<{ url: string; server: Server }> {
  const answer =
    "Here is a **short** answer with a list:\n\n- first point\n- second point with `code`\n\n" +
    "```rust\nfn main() {\n    println!(\"hello\");\n}\n```\n\nAnd a closing paragraph that wraps over more than one line in the conversation.";
  const words = answer.match(/\S+\s*/g) ?? [];
  const server = createServer((req, res) => {
    if (req.url?.endsWith("/models")) {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ object: "list", data: [{ id: "fast", object: "model" }] }));
      return;
    }
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: object, finish: string | null) =>
        `data: ${JSON.stringify({ id: "x", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      let body = "";
      for (const w of words) body += chunk({ content: w }, null);
      body += chunk({}, "stop");
      body += `data: ${JSON.stringify({ id: "x", choices: [], usage: { prompt_tokens: 20, completion_tokens: words.length } })}\n\n`;
      res.end(body + "data: [DONE]\n\n");
    });
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => {
      const a = server.address();
      ok({ url: `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}/v1`, server });
    }),
  );
}

/**
 * Loads `url` and returns when `selector` first appeared, in ms from the
 * start of the navigation (the page's own clock, so no driver overhead).
 */
async function load(page: Page, url: string, selector: string): Promise<number> {
  await page.goto(url);
  const ms = await page.waitForFunction(() => (window as unknown as { __seen?: number }).__seen, null, { timeout: 30_000 });
  const seen = (await ms.jsonValue()) as number;
  if (!(await page.locator(selector).count())) throw new Error(`${url}: ${selector} did not appear`);
  return seen;
}

/** Makes every page of `page`'s context note when `selector` first appears (see `load`). */
async function watchFor(page: Page, selector: string): Promise<void> {
  await page.addInitScript((sel) => {
    const w = window as unknown as { __seen?: number };
    new MutationObserver((_, obs) => {
      if (document.querySelector(sel)) {
        w.__seen = performance.now();
        obs.disconnect();
      }
    }).observe(document, { subtree: true, childList: true });
  }, selector);
}

async function waitJob(up: Up, id: string) {
  for (let i = 0; i < 500; i++) {
    const j = await up.call<{ state: string }>("GET", `/api/v1/jobs/${id}`);
    if (j.state !== "queued" && j.state !== "active") return j.state;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`job ${id} did not finish`);
}

test("measure the web UI", async () => {
  const results: Record<string, unknown> = { date: new Date().toISOString() };
  results.initial_js = initialJs();

  const { url: llmUrl, server } = await upstream();
  const b = await browser();
  try {
    // A session of 1,000 messages: 500 questions, each answered.
    if (runs("session")) {
      const up = await startUp({ llmUrl });
      try {
        const { id } = await up.call<{ id: string }>("POST", "/api/v1/sessions", { title: "a long conversation" });
        for (let i = 0; i < 500; i++) {
          const sent = await up.call<{ job_id: string }>("POST", `/api/v1/sessions/${id}/messages`, {
            content: `Question ${i}: what does step ${i} do?`,
          });
          await waitJob(up, sent.job_id);
        }
        for (let i = 0; i < 200; i++) {
          const d = await up.call<{ messages: unknown[] }>("GET", `/api/v1/sessions/${id}`);
          if (d.messages.length >= 1000) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const page = await newPage(b);
        await page.goto(up.loginUrl);
        await page.waitForSelector("#prompt");
        const times: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          await page.evaluate(() => {
            history.pushState(null, "", "/stats");
            dispatchEvent(new PopStateEvent("popstate"));
          });
          await page.waitForSelector(".stats");
          const ms = await page.evaluate(async (sid) => {
            const t0 = performance.now();
            history.pushState(null, "", `/chat/${sid}`);
            dispatchEvent(new PopStateEvent("popstate"));
            for (;;) {
              await new Promise((r) => requestAnimationFrame(r));
              if (document.querySelector('[data-index="999"] article')) break;
              if (performance.now() - t0 > 10_000) throw new Error("the session did not render");
            }
            await new Promise((r) => requestAnimationFrame(r));
            return performance.now() - t0;
          }, id);
          times.push(ms);
        }
        results.session_1000 = { rounds_ms: times, median_ms: median(times), messages: 1000 };
        await page.context().close();
      } finally {
        await up.stop();
      }
    }

    // 10,000 jobs in the queue, scrolled top to bottom.
    if (runs("queue")) {
      const q = await startUp({ llmUrl, worker: false });
      try {
        let next = 0;
        const submit = async () => {
          while (next < 10_000) {
            const i = next++;
            await q.call("POST", "/api/v1/jobs", { prompt: `job ${i}: summarise chapter ${i}`, skills: i % 4 === 0 ? ["summarize"] : [] });
          }
        };
        await Promise.all(Array.from({ length: 8 }, submit));
        const page = await newPage(b);
        await page.goto(q.loginUrl);
        await page.waitForSelector("#prompt");
        await page.getByRole("link", { name: "queue" }).click();
        await page.waitForFunction(() => document.querySelector('[data-testid="queue-count"]')?.textContent === "10,000 of 10,000 jobs", null, { timeout: 120_000 });
        // Each round: 120 frames idle (the same-run baseline: what this
        // headless, GPU-less browser does with nothing to draw), then 120
        // frames scrolling 400 px each (about 1,400 rows fly by). Chrome's
        // own counters give the main thread's work during the scroll.
        const cdp = await page.context().newCDPSession(page);
        await cdp.send("Performance.enable");
        const metrics = async () =>
          Object.fromEntries(
            ((await cdp.send("Performance.getMetrics")) as { metrics: { name: string; value: number }[] }).metrics.map((x) => [x.name, x.value]),
          );
        const frames: number[] = [];
        const idle: number[] = [];
        const work = { task: 0, script: 0, layout: 0, style: 0 };
        for (let r = 0; r < ROUNDS; r++) {
          for (const scroll of [false, true]) {
            const before = await metrics();
            const f = await page.evaluate(async (scroll) => {
              const el = document.querySelector<HTMLElement>('[data-testid="queue-list"]')!;
              el.scrollTop = 0;
              await new Promise((r) => requestAnimationFrame(r));
              const out: number[] = [];
              let last = performance.now();
              for (let i = 0; i < 120; i++) {
                if (scroll) el.scrollTop += 400;
                await new Promise((r) => requestAnimationFrame(r));
                const now = performance.now();
                out.push(now - last);
                last = now;
              }
              return out;
            }, scroll);
            const after = await metrics();
            if (!scroll) {
              idle.push(...f);
              continue;
            }
            frames.push(...f);
            work.task += (after.TaskDuration! - before.TaskDuration!) * 1000;
            work.script += (after.ScriptDuration! - before.ScriptDuration!) * 1000;
            work.layout += (after.LayoutDuration! - before.LayoutDuration!) * 1000;
            work.style += (after.RecalcStyleDuration! - before.RecalcStyleDuration!) * 1000;
          }
        }
        const over = (xs: number[]) => xs.filter((x) => x > 16.7 + 1).length;
        results.queue_scroll = {
          jobs: 10_000,
          frames: frames.length,
          p50_ms: pct(frames, 50),
          p95_ms: pct(frames, 95),
          p99_ms: pct(frames, 99),
          max_ms: Math.max(...frames),
          over_16_7ms: over(frames),
          main_thread_ms_per_frame: work.task / frames.length,
          script_ms_per_frame: work.script / frames.length,
          layout_ms_per_frame: work.layout / frames.length,
          style_ms_per_frame: work.style / frames.length,
          idle_p50_ms: pct(idle, 50),
          idle_p95_ms: pct(idle, 95),
          idle_max_ms: Math.max(...idle),
          idle_over_16_7ms: over(idle),
        };
        await page.context().close();
      } finally {
        await q.stop();
      }
    }

    // A phone's repeat visit to the chat: the shell from the service worker
    // (a page load asks the server first, the scripts come from the store),
    // against the same page with service workers blocked, where the HTTP
    // cache serves the immutable assets; and the same visit offline.
    if (runs("phone")) {
      const up = await startUp({ llmUrl });
      try {
        const withWorker = await newDevicePage(b, PHONE);
        const without = await newDevicePage(b, PHONE, { serviceWorkers: "block" });
        for (const page of [withWorker, without]) {
          await watchFor(page, "#prompt, .unreachable");
          await page.goto(up.loginUrl);
          await page.waitForSelector("#prompt");
        }
        await withWorker.waitForFunction(() => !!navigator.serviceWorker.controller, null, { timeout: 30_000 });
        const rounds = { worker: [] as number[], baseline: [] as number[], offline: [] as number[] };
        for (let r = 0; r < ROUNDS + 1; r++) {
          // The first round warms both up and is not counted.
          const w = await load(withWorker, up.url, "#prompt");
          const n = await load(without, up.url, "#prompt");
          if (r > 0) {
            rounds.worker.push(w);
            rounds.baseline.push(n);
          }
        }
        await withWorker.context().setOffline(true);
        for (let r = 0; r < ROUNDS; r++) rounds.offline.push(await load(withWorker, up.url, ".unreachable"));
        await withWorker.context().setOffline(false);
        results.phone = {
          worker_rounds_ms: rounds.worker,
          baseline_rounds_ms: rounds.baseline,
          offline_rounds_ms: rounds.offline,
          worker_median_ms: median(rounds.worker),
          baseline_median_ms: median(rounds.baseline),
          offline_median_ms: median(rounds.offline),
        };
        await withWorker.context().close();
        await without.context().close();
      } finally {
        await up.stop();
      }
    }
  } finally {
    await b.close();
    server.close();
  }

  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, "ui.json"), JSON.stringify(results, null, 2) + "\n");
  const js = results.initial_js as ReturnType<typeof initialJs>;
  const s = (results.session_1000 ?? { median_ms: NaN, rounds_ms: [] }) as { median_ms: number; rounds_ms: number[] };
  const qs = (results.queue_scroll ?? {}) as Record<string, number>;
  const f1 = (n: number | undefined) => (n ?? NaN).toFixed(1);
  const ph = (results.phone ?? {}) as Record<string, number | number[]>;
  const list = (xs: number | number[] | undefined) => (Array.isArray(xs) ? xs.map((x) => Math.round(x)).join(", ") : "");
  const md = [
    "| what | measured | same-run baseline | target |",
    "|---|---|---|---|",
    `| initial JS, gzipped (${js.files.length} file${js.files.length === 1 ? "" : "s"}; ${f1(js.raw_kb)} KB raw; CSS ${f1(js.css_gzip_kb)} KB gzipped) | ${f1(js.gzip_kb)} KB | | ≤ 200 KB |`,
    `| 1,000-message session: in-app navigation → last message painted (median of ${s.rounds_ms.length}: ${s.rounds_ms.map((x) => Math.round(x)).join(", ")} ms; includes fetching the session) | ${f1(s.median_ms)} ms | | ≤ 200 ms |`,
    `| 10,000-job queue scrolled 400 px a frame: main-thread work per frame (script ${f1(qs.script_ms_per_frame)} + layout ${f1(qs.layout_ms_per_frame)} + style ${f1(qs.style_ms_per_frame)} + paint and the rest) | ${f1(qs.main_thread_ms_per_frame)} ms | | < 16 ms |`,
    `| the same scroll: frame interval p50 / p95 / p99 / max (${qs.frames} frames) | ${f1(qs.p50_ms)} / ${f1(qs.p95_ms)} / ${f1(qs.p99_ms)} / ${f1(qs.max_ms)} ms | idle page: ${f1(qs.idle_p50_ms)} / ${f1(qs.idle_p95_ms)} / – / ${f1(qs.idle_max_ms)} ms | |`,
    `| frames slower than 60 Hz (> 17.7 ms) | ${qs.over_16_7ms} of ${qs.frames} | idle page: ${qs.idle_over_16_7ms} of ${qs.frames} | |`,
    `| phone (390 × 844, 3×), a repeat visit → the prompt in the page, shell from the service worker (median of ${list(ph.worker_rounds_ms).split(",").length}: ${list(ph.worker_rounds_ms)} ms) | ${f1(ph.worker_median_ms as number)} ms | service workers blocked, HTTP cache: ${f1(ph.baseline_median_ms as number)} ms (${list(ph.baseline_rounds_ms)}) | ≤ baseline + 50 ms |`,
    `| the same visit offline → the "offline" page (${list(ph.offline_rounds_ms)} ms) | ${f1(ph.offline_median_ms as number)} ms | | ≤ 1,000 ms |`,
  ].join("\n");
  writeFileSync(join(OUT, "ui.md"), md + "\n");
  console.log(md);
}, 900_000);
