// A job's life as the UI sees it: the event log, replayed then followed
// over SSE. The browser's EventSource reconnects by itself and sends
// Last-Event-ID, and the server replays exactly what was missed, so a
// dropped connection loses nothing; the reducer also ignores any event
// whose seq it has already seen.
import { useEffect, useReducer } from "react";
import type { EventBody, JobEvent, JobState, Usage } from "../api/client";

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
      break;
    case "token":
      next.output += e.data.text;
      next.tokens += 1;
      next.firstTokenAt ??= ts;
      break;
    case "usage":
      next.usage = e.data;
      break;
    case "done":
      next.state = "completed";
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

const TYPES: EventBody["type"][] = ["queued", "started", "token", "usage", "done", "failed", "cancelled"];

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
