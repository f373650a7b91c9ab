import { describe, expect, test } from "vitest";
import type { JobEvent } from "../api/client";
import { emptyLive, parseSse, reduce } from "./jobStream";

const ev = (seq: number, type: string, data: object = {}): JobEvent =>
  ({ seq, ts: new Date(1_700_000_000_000 + seq * 10).toISOString(), type, data }) as JobEvent;

const run = (events: JobEvent[]) => reduce(emptyLive, { kind: "events", events });

describe("the job reducer", () => {
  test("builds the output and the state from the log", () => {
    const l = run([
      ev(0, "queued", { attempts: 0 }),
      ev(1, "started", { attempt: 1, worker: "w", model: "local:tiny" }),
      ev(2, "token", { text: "Hel" }),
      ev(3, "token", { text: "lo" }),
      ev(4, "usage", { prompt_tokens: 3, completion_tokens: 2, ttft_ms: 12 }),
      ev(5, "done", {}),
    ]);
    expect(l.output).toBe("Hello");
    expect(l.state).toBe("completed");
    expect(l.finished).toBe(true);
    expect(l.tokens).toBe(2);
    expect(l.usage?.completion_tokens).toBe(2);
    expect(l.model).toBe("local:tiny");
  });

  test("ignores events it has already seen, so a resumed stream never doubles text", () => {
    let l = run([ev(0, "queued", { attempts: 0 }), ev(1, "started", { attempt: 1, worker: "w", model: "m" }), ev(2, "token", { text: "a" })]);
    l = reduce(l, { kind: "events", events: [ev(2, "token", { text: "a" }), ev(3, "token", { text: "b" })] });
    l = reduce(l, { kind: "event", event: ev(1, "started", { attempt: 1, worker: "w", model: "m" }) });
    expect(l.output).toBe("ab");
    expect(l.events.map((e) => e.seq)).toEqual([0, 1, 2, 3]);
  });

  test("a new attempt voids the output of the one before", () => {
    const l = run([
      ev(0, "started", { attempt: 1, worker: "w", model: "m" }),
      ev(1, "token", { text: "lost" }),
      ev(2, "queued", { attempts: 1, reason: "upstream 503" }),
      ev(3, "started", { attempt: 2, worker: "w", model: "m" }),
      ev(4, "token", { text: "kept" }),
    ]);
    expect(l.output).toBe("kept");
    expect(l.attempt).toBe(2);
    expect(l.state).toBe("active");
    expect(l.finished).toBe(false);
  });

  test("folds the retrieval step: its sources, numbered, until a new attempt starts", () => {
    const source = (n: number, path: string) => ({ n, path, heading: "Setup > Install", line_start: 3, line_end: 9, hash: `h${n}`, score: 0.03 / n, text: "t" });
    let l = run([
      ev(0, "queued", { attempts: 0 }),
      ev(1, "started", { attempt: 1, worker: "w", model: "m" }),
      ev(2, "retrieval", { vault: "notes", query: "how to install", mode: "augment", sources: [source(1, "a.md"), source(2, "b/c.md")] }),
      ev(3, "token", { text: "See [1]." }),
    ]);
    expect(l.retrieval).toMatchObject({ vault: "notes", query: "how to install", mode: "augment", reused: false });
    expect(l.retrieval?.sources.map((s) => `${s.n} ${s.path}`)).toEqual(["1 a.md", "2 b/c.md"]);
    expect(l.output).toBe("See [1].");
    // A retry starts over: its own retrieval event (here reused) replaces the first.
    l = reduce(l, { kind: "events", events: [ev(4, "queued", { attempts: 1 }), ev(5, "started", { attempt: 2, worker: "w", model: "m" })] });
    expect(l.retrieval).toBeUndefined();
    l = reduce(l, { kind: "event", event: ev(6, "retrieval", { vault: "notes", query: "how to install", mode: "context-only", sources: [source(1, "a.md")], reused: true }) });
    expect(l.retrieval).toMatchObject({ mode: "context-only", reused: true });
    expect(l.retrieval?.sources).toHaveLength(1);
  });

  test("failed and cancelled jobs carry their reason", () => {
    expect(run([ev(0, "failed", { error: "401 from upstream" })])).toMatchObject({ state: "failed", error: "401 from upstream", finished: true });
    expect(run([ev(0, "cancelled", {})])).toMatchObject({ state: "cancelled", error: "cancelled", finished: true });
  });

  test("parses SSE frames and refuses garbage", () => {
    expect(parseSse("token", '{"seq":7,"ts":"2026-01-01T00:00:00Z","data":{"text":"x"}}')).toEqual({
      seq: 7,
      ts: "2026-01-01T00:00:00Z",
      type: "token",
      data: { text: "x" },
    });
    expect(parseSse("token", "not json")).toBeNull();
  });
});

describe("tool activity", () => {
  const call = (seq: number, id: string, tool: string, args: object, round = 1) => ev(seq, "tool_call", { id, tool, arguments: args, round });
  const result = (seq: number, id: string, tool: string, more: object) => ev(seq, "tool_result", { id, tool, duration_ms: 5, bytes: 0, ...more });

  test("a call runs until its result comes, then carries duration, size and result", () => {
    let l = run([
      ev(0, "queued", { attempts: 0 }),
      ev(1, "started", { attempt: 1, worker: "w", model: "m" }),
      ev(2, "token", { text: "Let me look." }),
      call(3, "c1", "vault_read", { path: "notes/a.md" }),
    ]);
    expect(l.tools).toHaveLength(1);
    expect(l.tools[0]).toMatchObject({ id: "c1", tool: "vault_read", status: "running", round: 1, at: 12, arguments: { path: "notes/a.md" } });
    expect(l.toolTotals).toEqual({ calls: 1, errors: 0, durationMs: 0 });
    l = reduce(l, { kind: "events", events: [result(4, "c1", "vault_read", { duration_ms: 12.5, bytes: 23, result: "# A\n\nThe answer is 42.\n" }), ev(5, "token", { text: "42" }), ev(6, "done", {})] });
    expect(l.tools[0]).toMatchObject({ status: "done", durationMs: 12.5, bytes: 23, result: "# A\n\nThe answer is 42.\n", truncated: false, reused: false });
    // Round time runs from the call to its result (10 ms apart in these events).
    expect(l.toolTotals).toEqual({ calls: 1, errors: 0, durationMs: 10 });
    expect(l.output).toBe("Let me look.42");
  });

  test("calls of one round run at once: the round is timed once, errors are counted", () => {
    const l = run([
      ev(0, "started", { attempt: 1, worker: "w", model: "m" }),
      call(1, "a", "fetch", { url: "https://a.example" }),
      call(2, "b", "fetch", { url: "http://10.0.0.1" }),
      result(3, "b", "fetch", { error: "refused: a private address" }),
      result(4, "a", "fetch", { bytes: 14_000, result: "page", truncated: true }),
      call(5, "c", "run_code", { language: "python", code: "print(1)" }, 2),
      result(7, "c", "run_code", { bytes: 2, result: "1\n" }),
    ]);
    expect(l.tools.map((t) => [t.id, t.status])).toEqual([["a", "done"], ["b", "error"], ["c", "done"]]);
    expect(l.tools[1]?.error).toBe("refused: a private address");
    expect(l.tools[0]?.truncated).toBe(true);
    // Round 1: seq 1 → 4 (30 ms); round 2: seq 5 → 7 (20 ms).
    expect(l.toolTotals).toEqual({ calls: 3, errors: 1, durationMs: 50 });
  });

  test("a call cut short by the job's end is stopped; a new attempt starts with no calls and marks reused results", () => {
    let l = run([
      ev(0, "started", { attempt: 1, worker: "w", model: "m" }),
      call(1, "c1", "vault_read", { path: "notes/a.md" }),
      result(2, "c1", "vault_read", { bytes: 5, result: "hello" }),
      call(3, "c2", "run_code", { code: "import time; time.sleep(60)" }, 2),
    ]);
    expect(reduce(l, { kind: "event", event: ev(4, "cancelled", {}) }).tools.map((t) => t.status)).toEqual(["done", "stopped"]);
    // The worker died instead: the job is requeued and run again.
    l = reduce(l, { kind: "events", events: [ev(4, "queued", { attempts: 1, reason: "worker died" })] });
    expect(l.tools.map((t) => t.status)).toEqual(["done", "stopped"]);
    l = reduce(l, { kind: "events", events: [ev(5, "started", { attempt: 2, worker: "w2", model: "m" })] });
    expect(l.tools).toEqual([]);
    expect(l.toolTotals.calls).toBe(0);
    l = reduce(l, { kind: "events", events: [call(6, "c1", "vault_read", { path: "notes/a.md" }), result(7, "c1", "vault_read", { bytes: 5, result: "hello", reused: true })] });
    expect(l.tools[0]).toMatchObject({ status: "done", reused: true });
  });

  test("functions the gateway client runs itself come back in done", () => {
    const l = run([
      ev(0, "started", { attempt: 1, worker: "w", model: "m" }),
      ev(1, "done", { finish_reason: "tool_calls", tool_calls: [{ id: "x", name: "get_weather", arguments: { city: "Oslo" } }] }),
    ]);
    expect(l.tools).toEqual([expect.objectContaining({ id: "x", tool: "get_weather", status: "client", arguments: { city: "Oslo" } })]);
    expect(l.toolTotals.calls).toBe(0);
  });

  test("a replayed stream never doubles a call", () => {
    const events = [ev(0, "started", { attempt: 1, worker: "w", model: "m" }), call(1, "c1", "fetch", { url: "https://a.b" })];
    let l = run(events);
    l = reduce(l, { kind: "events", events: [...events, result(2, "c1", "fetch", { bytes: 1 })] });
    expect(l.tools).toHaveLength(1);
    expect(l.toolTotals.calls).toBe(1);
  });
});

