// A job's life as the UI sees it: the event log, replayed then followed
// over SSE. The browser's EventSource reconnects by itself and sends
// Last-Event-ID, and the server replays exactly what was missed, so a
// dropped connection loses nothing; the reducer also ignores any event
// whose seq it has already seen.
import { useEffect, useReducer } from "react";
import type { EventBody, JobEvent, JobState, RetrievedSource, Usage } from "../api/client";

/** What retrieval gave the current attempt, before its first token. */
export interface Retrieval {
  vault: string;
  query: string;
  mode: string;
  /** Numbered as the prompt numbered them: the answer cites `[n]`. */
  sources: RetrievedSource[];
  /** Taken from an earlier attempt or the replayed job, not searched again. */
  reused: boolean;
}

/**
 * One tool call of the current attempt, as far as the log tells.
 * `running`: announced (`tool_call`), no result yet; calls of one round run
 * at once, up to the worker's limit. `done` / `error`: its `tool_result`
 * came. `stopped`: the job ended first. `client`: a function of the
 * gateway client's own, handed back to it in `done` (ctl never runs it).
 */
export interface ToolActivity {
  id: string;
  tool: string;
  arguments: Record<string, unknown>;
  round: number;
  status: "running" | "done" | "error" | "stopped" | "client";
  /** When the call was announced (ms since the epoch). */
  since: number;
  durationMs?: number;
  /** Size of the whole result, before the cap. */
  bytes?: number;
  /** The result as the model saw it (capped). */
  result?: string;
  error?: string;
  truncated?: boolean;
  /** Taken from an earlier attempt's log instead of calling the tool again. */
  reused?: boolean;
  /** Length of `output` when the call was made: where it sits in the answer. */
  at: number;
}

/** Tool use of the current attempt, counted as `ctl show` counts it. */
export interface ToolTotals {
  calls: number;
  errors: number;
  /** Wall time in tools: each round from its first call to its last result. */
  durationMs: number;
}

export interface Live {
  events: JobEvent[];
  lastSeq: number;
  state: JobState | "unknown";
  /** Output of the current attempt (earlier attempts' output is void). */
  output: string;
  attempt: number;
  model?: string;
  worker?: string;
  startedAt?: number;
  firstTokenAt?: number;
  tokens: number;
  usage?: Usage;
  error?: string;
  /** Tool calls of the current attempt, in the order they were made. */
  tools: ToolActivity[];
  toolTotals: ToolTotals;
  /** The sources of the current attempt, once its `retrieval` event came. */
  retrieval?: Retrieval;
  /** The open round: when its first call came, and how many have no result yet. */
  toolRound?: { since: number; open: number };
  finished: boolean;
  connected: boolean;
}

export const emptyLive: Live = {
  events: [],
  lastSeq: -1,
  state: "unknown",
  output: "",
  attempt: 0,
  tokens: 0,
  tools: [],
  toolTotals: { calls: 0, errors: 0, durationMs: 0 },
  finished: false,
  connected: false,
};

export type Action =
  | { kind: "event"; event: JobEvent }
  | { kind: "events"; events: JobEvent[] }
  | { kind: "connected"; on: boolean }
  | { kind: "reset" };

const TERMINAL = new Set(["done", "failed", "cancelled"]);

export function reduce(s: Live, a: Action): Live {
  switch (a.kind) {
    case "reset":
      return emptyLive;
    case "connected":
      return s.connected === a.on ? s : { ...s, connected: a.on };
    case "event":
      return reduce(s, { kind: "events", events: [a.event] });
    case "events": {
      const fresh = a.events.filter((e, i) => e.seq > s.lastSeq && (i === 0 || e.seq > (a.events[i - 1]?.seq ?? -1)));
      if (fresh.length === 0) return s;
      const next: Live = { ...s, events: s.events.concat(fresh) };
      for (const e of fresh) apply(next, e);
      return next;
    }
  }
}

/** Applies one new event to a fresh copy of the state. */
function apply(next: Live, e: JobEvent): void {
  next.lastSeq = e.seq;
  const ts = Date.parse(e.ts);
  switch (e.type) {
    case "queued":
      next.state = "queued";
      break;
    case "started":
      next.state = "active";
      next.attempt = e.data.attempt;
      next.model = e.data.model;
      next.worker = e.data.worker;
      next.startedAt = ts;
      next.firstTokenAt = undefined;
      next.output = "";
      next.tokens = 0;
      next.usage = undefined;
      next.tools = [];
      next.toolTotals = { calls: 0, errors: 0, durationMs: 0 };
      next.toolRound = undefined;
      next.retrieval = undefined;
      break;
    case "retrieval":
      next.retrieval = {
        vault: e.data.vault,
        query: e.data.query,
        mode: e.data.mode,
        sources: e.data.sources ?? [],
        reused: e.data.reused ?? false,
      };
      break;
    case "token":
      next.output += e.data.text;
      next.tokens += 1;
      next.firstTokenAt ??= ts;
      break;
    case "tool_call":
      next.tools = next.tools.concat({
        id: e.data.id,
        tool: e.data.tool,
        arguments: e.data.arguments ?? {},
        round: e.data.round,
        status: "running",
        since: ts,
        at: next.output.length,
      });
      next.toolTotals = { ...next.toolTotals, calls: next.toolTotals.calls + 1 };
      next.toolRound = next.toolRound ? { ...next.toolRound, open: next.toolRound.open + 1 } : { since: ts, open: 1 };
      break;
    case "tool_result": {
      const d = e.data;
      const i = next.tools.findIndex((t) => t.id === d.id && (t.status === "running" || t.status === "stopped"));
      const ended: Partial<ToolActivity> = {
        status: d.error ? "error" : "done",
        durationMs: d.duration_ms,
        bytes: d.bytes,
        result: d.result ?? undefined,
        error: d.error ?? undefined,
        truncated: d.truncated ?? false,
        reused: d.reused ?? false,
      };
      next.tools =
        i >= 0
          ? next.tools.map((t, j) => (j === i ? { ...t, ...ended } : t))
          : // A result without its call (a log cut at the start): show it anyway.
            next.tools.concat({ id: d.id, tool: d.tool, arguments: {}, round: 0, since: ts, at: next.output.length, ...ended } as ToolActivity);
      let { durationMs } = next.toolTotals;
      if (next.toolRound) {
        const open = next.toolRound.open - 1;
        if (open <= 0) {
          durationMs += Math.max(0, ts - next.toolRound.since);
          next.toolRound = undefined;
        } else next.toolRound = { ...next.toolRound, open };
      }
      next.toolTotals = { ...next.toolTotals, errors: next.toolTotals.errors + (d.error ? 1 : 0), durationMs };
      break;
    }
    case "usage":
      next.usage = e.data;
      break;
    case "done":
      next.state = "completed";
      if (e.data.tool_calls?.length) {
        next.tools = next.tools.concat(
          e.data.tool_calls.map((c) => ({
            id: c.id,
            tool: c.name,
            arguments: c.arguments ?? {},
            round: 0,
            status: "client" as const,
            since: ts,
            at: next.output.length,
          })),
        );
      }
      break;
    case "failed":
      next.state = "failed";
      next.error = e.data.error;
      break;
    case "cancelled":
      next.state = "cancelled";
      next.error = e.data.reason ?? "cancelled";
      break;
  }
  next.finished = TERMINAL.has(e.type);
  if (next.finished || e.type === "queued") {
    // Calls still open when the attempt ended never got a result.
    if (next.tools.some((t) => t.status === "running")) {
      next.tools = next.tools.map((t) => (t.status === "running" ? { ...t, status: "stopped" } : t));
    }
    next.toolRound = undefined;
  }
}

/** Parses one SSE message into a log event (`event` = type, `data` = {seq, ts, data}). */
export function parseSse(type: string, raw: string): JobEvent | null {
  try {
    const d = JSON.parse(raw) as { seq: number; ts: string; data?: unknown };
    return { seq: d.seq, ts: d.ts, type, data: d.data ?? {} } as JobEvent;
  } catch {
    return null;
  }
}

const TYPES: EventBody["type"][] = ["queued", "started", "retrieval", "token", "tool_call", "tool_result", "usage", "done", "failed", "cancelled"];

/**
 * Opens the SSE stream of one job and feeds `onEvent` until the job ends.
 * Returns a function that closes it.
 */
export function follow(
  id: string,
  onEvent: (e: JobEvent) => void,
  onConnected: (on: boolean) => void = () => {},
): () => void {
  const es = new EventSource(`/api/v1/jobs/${encodeURIComponent(id)}/events`);
  let closed = false;
  const close = () => {
    closed = true;
    es.close();
    onConnected(false);
  };
  es.onopen = () => onConnected(true);
  es.onerror = () => {
    // EventSource retries by itself (with Last-Event-ID) unless it gave up.
    if (!closed) onConnected(false);
  };
  for (const t of TYPES) {
    es.addEventListener(t, (m) => {
      const e = parseSse(t, (m as MessageEvent<string>).data);
      if (!e) return;
      onEvent(e);
      if (TERMINAL.has(t)) close();
    });
  }
  return close;
}

/** The live state of a job; `id` undefined means nothing to follow. */
export function useJobStream(id: string | undefined): Live {
  const [live, dispatch] = useReducer(reduce, emptyLive);
  useEffect(() => {
    dispatch({ kind: "reset" });
    if (!id) return;
    // Tokens can arrive thousands a second: render at most once a frame.
    let batch: JobEvent[] = [];
    let frame = 0;
    const flush = () => {
      frame = 0;
      const events = batch;
      batch = [];
      dispatch({ kind: "events", events });
    };
    const close = follow(
      id,
      (event) => {
        batch.push(event);
        if (!frame) frame = requestAnimationFrame(flush);
      },
      (on) => dispatch({ kind: "connected", on }),
    );
    return () => {
      close();
      cancelAnimationFrame(frame);
    };
  }, [id]);
  return live;
}

/** Time to first token and tokens/s, from the stream or the final usage. */
export function timings(l: Live): { ttft?: number; tps?: number } {
  const ttft = l.usage?.ttft_ms ?? (l.firstTokenAt && l.startedAt ? l.firstTokenAt - l.startedAt : undefined);
  let tps = l.usage?.tokens_per_s ?? undefined;
  if (tps == null && l.firstTokenAt && l.tokens > 1 && !l.finished) {
    const secs = (Date.now() - l.firstTokenAt) / 1000;
    if (secs > 0) tps = (l.tokens - 1) / secs;
  }
  return { ttft: ttft ?? undefined, tps: tps ?? undefined };
}
