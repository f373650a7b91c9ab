// Starts a real `ctl up` (CTL_BIN, default ../target/debug/ctl) on a free
// port with a fresh data directory, pointed at the real llama.cpp server
// (CTL_TEST_LLM_URL), and drives Debian's Chromium with playwright-core.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";

export const CTL_BIN = resolve(process.env.CTL_BIN ?? join(import.meta.dirname, "../../target/debug/ctl"));
export const LLM_URL = process.env.CTL_TEST_LLM_URL;

export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (a && typeof a === "object" ? ok(a.port) : fail(new Error("no port"))));
    });
  });
}

export interface Up {
  url: string;
  loginUrl: string;
  token: string;
  dir: string;
  home: string;
  log: () => string;
  stop: () => Promise<void>;
  /** Calls the API with the bearer token. */
  call: <T = unknown>(method: string, path: string, body?: unknown) => Promise<T>;
  /** Runs the ctl CLI against this data directory. */
  ctl: (args: string[]) => Promise<string>;
  /** Starts a long-running ctl process (e.g. `worker`) on this data directory; stopped with the rest. */
  spawn: (args: string[]) => ChildProcess;
  /** SIGKILLs the server and starts it again on the same address. */
  restart: () => Promise<void>;
}

export interface UpOptions {
  worker?: boolean;
  /** The OpenAI-compatible upstream (default CTL_TEST_LLM_URL). */
  llmUrl?: string;
  tokenDelayMs?: number;
  env?: Record<string, string>;
  /** User skills (name → SKILL.md text) on the skills path. */
  skills?: Record<string, string>;
  /** More TOML for the config file, after the provider and worker tables. */
  config?: string;
}

/** `ctl up` (or `ctl serve` with `worker: false`) on a free port. */
export async function startUp(opts: UpOptions = {}): Promise<Up> {
  const llmUrl = opts.llmUrl ?? LLM_URL;
  if (!llmUrl) throw new Error("CTL_TEST_LLM_URL is not set: start the llama.cpp server first (see .ci/run)");
  const dir = mkdtempSync(join(tmpdir(), "ctl-e2e-"));
  const home = join(dir, "home");
  const config = join(dir, "ctl.toml");
  writeFileSync(
    config,
    `default_model = "local:tiny"\n\n[providers.local]\nkind = "openai"\nbase_url = "${llmUrl}"\n` +
      `connect_timeout_secs = 2\nidle_timeout_secs = 30\n\n[worker]\nrescan_secs = 0.5\ngrace_secs = 2\n` +
      (opts.config ? `\n${opts.config}\n` : ""),
  );
  const skillsDir = join(dir, "skills");
  for (const [name, text] of Object.entries(opts.skills ?? {})) {
    mkdirSync(join(skillsDir, name), { recursive: true });
    writeFileSync(join(skillsDir, name, "SKILL.md"), text);
  }
  const env = {
    ...process.env,
    CTL_SKILLS_PATH: skillsDir,
    CTL_HOME: home,
    CTL_CONFIG: config,
    CTL_TEST_TOKEN_DELAY_MS: String(opts.tokenDelayMs ?? 0),
    RUST_LOG: "warn",
    ...opts.env,
  };
  const ctl = (args: string[]) =>
    new Promise<string>((ok, fail) => {
      const p = spawn(CTL_BIN, args, { env });
      let out = "";
      let err = "";
      p.stdout.on("data", (d: Buffer) => (out += d.toString()));
      p.stderr.on("data", (d: Buffer) => (err += d.toString()));
      p.on("exit", (code) => (code === 0 ? ok(out) : fail(new Error(`ctl ${args.join(" ")}: ${err}`))));
    });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let token = "";
  let output = "";
  const extra: ChildProcess[] = [];
  const serverArgs = opts.worker === false ? ["serve", "--listen", `127.0.0.1:${port}`] : ["up", "--listen", `127.0.0.1:${port}`];
  if (opts.worker === false) {
    token = (await ctl(["token", "create", "--name", "e2e"])).trim().split(/\s+/).find((w) => w.startsWith("ctl_")) ?? "";
  }
  const launch = (args: string[]) => {
    const p = spawn(CTL_BIN, args, { env });
    p.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    p.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    return p;
  };
  let loginUrl = "";
  const ready = async (p: ChildProcess) => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error(`ctl did not come up:\n${output}`);
      if (p.exitCode !== null) throw new Error(`ctl exited ${p.exitCode}:\n${output}`);
      const m = /(http:\/\/\S+\/login\?token=(ctl_[0-9a-f]+))/.exec(output);
      if (m) {
        loginUrl = m[1]!;
        token = m[2]!;
      }
      if (token) {
        const r = await fetch(`${url}/readyz`).catch(() => undefined);
        if (r?.ok) return;
      }
      await sleep(50);
    }
  };
  let proc = launch(serverArgs);
  await ready(proc);
  if (!loginUrl) loginUrl = `${url}/login?token=${token}`;
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await fetch(url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const end = async (p: ChildProcess) => {
    if (p.exitCode !== null || p.signalCode !== null) return;
    p.kill("SIGTERM");
    await Promise.race([new Promise((ok) => p.once("exit", ok)), sleep(5000)]);
    if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  };
  const stop = async () => {
    await Promise.all([proc, ...extra].map(end));
    rmSync(dir, { recursive: true, force: true });
  };
  const restart = async () => {
    const exited = new Promise((ok) => proc.once("exit", ok));
    proc.kill("SIGKILL");
    await exited;
    proc = launch(serverArgs);
    await ready(proc);
  };
  const spawnCtl = (args: string[]) => {
    const p = launch(args);
    extra.push(p);
    return p;
  };
  return { url, loginUrl, token, dir, home, log: () => output, stop, call, ctl, spawn: spawnCtl, restart };
}

export const sleep = (ms: number) => new Promise((ok) => setTimeout(ok, ms));

const ROOT = resolve(import.meta.dirname, "../..");
const VENV = process.env.CTL_TEST_VENV ?? join(homedir(), ".cache/ctl-test/venv");

/** A llama.cpp server of the tests, stopped by `stop` (a no-op for one that was already running). */
export interface Llm {
  url: string;
  stop: () => Promise<void>;
}

/**
 * A llama.cpp server that calls tools: llama-cpp-python with
 * `--chat_format chatml-function-calling` on the tiny test model
 * (`CTL_TEST_LLM_TOOLS_URL`, else one started here). Its calls are bound
 * by a grammar to the schemas it is shown, so a schema with one valid
 * instance (`CTL_TEST_TOOL_SCHEMAS` in a debug `ctl`) gives one call.
 */
export async function toolsLlm(): Promise<Llm> {
  const given = process.env.CTL_TEST_LLM_TOOLS_URL;
  if (given) return { url: given, stop: async () => {} };
  const python = join(VENV, "bin/python");
  if (!existsSync(python)) throw new Error(`the test LLM server is not installed at ${python}: run .ci/setup-llm`);
  const model = join(ROOT, "target/test-fixtures/tiny.gguf");
  if (!existsSync(model)) {
    mkdirSync(join(ROOT, "target/test-fixtures"), { recursive: true });
    const tmp = `${model}.tmp${process.pid}`;
    await new Promise<void>((ok, fail) =>
      spawn(python, [join(ROOT, "tests/fixtures/tiny_gguf.py"), tmp], { stdio: "inherit" }).on("exit", (code) =>
        code === 0 ? ok() : fail(new Error("tiny_gguf.py failed")),
      ),
    );
    renameSync(tmp, model);
  }
  const port = await freePort();
  // Tool descriptions and schemas fill a good part of a 2,048-token window.
  const p = spawn(
    python,
    ["-m", "llama_cpp.server", "--model", model, "--host", "127.0.0.1", "--port", String(port), "--model_alias", "tiny",
      "--n_threads", "1", "--interrupt_requests", "false", "--chat_format", "chatml-function-calling", "--n_ctx", "4096"],
    { stdio: "ignore" },
  );
  const url = `http://127.0.0.1:${port}/v1`;
  const deadline = Date.now() + 60_000;
  while (!(await fetch(`${url}/models`).then((r) => r.ok, () => false))) {
    if (p.exitCode !== null) throw new Error(`the tools LLM server exited ${p.exitCode}`);
    if (Date.now() > deadline) throw new Error("the tools LLM server did not start");
    await sleep(100);
  }
  return {
    url,
    stop: async () => {
      if (p.exitCode !== null) return;
      const exited = new Promise((ok) => p.once("exit", ok));
      p.kill("SIGTERM");
      await exited;
    },
  };
}

export async function browser(): Promise<Browser> {
  return chromium.launch(LAUNCH);
}

const LAUNCH = {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
  ],
};

/**
 * Runs `f` on a page of a browser with a real profile on disk (not the
 * incognito-like context `browser()` gives), for what Chromium refuses
 * incognito, such as installing an app; then ends that browser.
 */
export async function withProfilePage<T>(d: Device, f: (page: Page) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "ctl-e2e-profile-"));
  const ctx = await chromium.launchPersistentContext(dir, { ...LAUNCH, ...contextOptions(d) });
  try {
    return await f(failOnErrors(ctx.pages()[0] ?? (await ctx.newPage())));
  } finally {
    await ctx.close();
    rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

export async function newPage(b: Browser, width = 1440, height = 900): Promise<Page> {
  return newDevicePage(b, { width, height, scale: 1, touch: false });
}

/** A screen to emulate: CSS pixels, device pixel ratio, and a touch screen with mobile viewport rules. */
export interface Device {
  width: number;
  height: number;
  scale: number;
  touch: boolean;
}
export const PHONE: Device = { width: 390, height: 844, scale: 3, touch: true };
export const TABLET: Device = { width: 768, height: 1024, scale: 2, touch: true };

const contextOptions = (d: Device) => ({
  viewport: { width: d.width, height: d.height },
  deviceScaleFactor: d.scale,
  isMobile: d.touch,
  hasTouch: d.touch,
  reducedMotion: "reduce" as const,
});

export async function newDevicePage(b: Browser, d: Device, opts: { serviceWorkers?: "allow" | "block" } = {}): Promise<Page> {
  const ctx = await b.newContext({ ...contextOptions(d), ...opts });
  return failOnErrors(await ctx.newPage());
}

/** An uncaught error in the page fails the test. */
function failOnErrors(page: Page): Page {
  page.on("pageerror", (e) => {
    throw e;
  });
  return page;
}

/**
 * Saves a screenshot for the README (docs/screenshots/NAME.png), with at
 * most `ratio` image pixels a CSS pixel: a 3× phone screen is scaled down
 * (by the browser itself) to keep the file small.
 */
export async function screenshot(page: Page, name: string, fullPage = false, ratio = Infinity): Promise<void> {
  if (!process.env.CTL_SCREENSHOTS) return;
  const path = join(import.meta.dirname, "../../docs/screenshots", `${name}.png`);
  const shot = await page.screenshot({ fullPage });
  const dpr = await page.evaluate(() => devicePixelRatio);
  if (ratio >= dpr) return writeFileSync(path, shot);
  const scaler = await page.context().newPage();
  try {
    const png = await scaler.evaluate(
      async ({ b64, f }) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement("canvas");
        c.width = Math.round(img.width * f);
        c.height = Math.round(img.height * f);
        const g = c.getContext("2d")!;
        g.imageSmoothingQuality = "high";
        g.drawImage(img, 0, 0, c.width, c.height);
        return c.toDataURL("image/png").split(",")[1]!;
      },
      { b64: shot.toString("base64"), f: ratio / dpr },
    );
    writeFileSync(path, Buffer.from(png, "base64"));
  } finally {
    await scaler.close();
  }
}
