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
