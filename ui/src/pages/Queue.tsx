// Every job, live: filters by state, model and skill, multi-select and bulk
// cancel. The list is virtualised, so 10,000 jobs scroll like 10. On a
// phone each row is a card (state, model, age, prompt), checkbox kept.
import { memo, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { allJobs, api, isFinished, ok, type JobState, type JobView } from "../api/client";
import { StateBadge } from "../components/StateBadge";
import { useShortcuts } from "../lib/keys";
import { ago, num, shortId } from "../lib/format";
import { useMedia, usePhone } from "../lib/layout";
import { link, navigate } from "../lib/router";

const STATES: JobState[] = ["queued", "active", "completed", "failed", "cancelled"];
const POLL_MS = 2000;
/** Row heights: a table row, a touch-sized one, a card on a phone. */
const ROW = { desk: 34, touch: 44, card: 100 };

/** All jobs by id, kept current by polling the unfinished ones. */
function useAllJobs() {
  const [jobs, setJobs] = useState<Map<string, JobView>>(new Map());
  const [error, setError] = useState<string>();
  const [loaded, setLoaded] = useState(false);
  const ref = useRef(jobs);
  ref.current = jobs;

  // Most polls change nothing: then the 10,000-row list is left alone.
  const merge = useCallback((views: JobView[]) => {
    setJobs((old) => {
      const changed = views.filter((v) => {
        const o = old.get(v.id);
        return !o || o.state !== v.state || o.attempts !== v.attempts || o.finished_at !== v.finished_at || o.usage?.completion_tokens !== v.usage?.completion_tokens;
      });
      if (changed.length === 0) return old;
      const next = new Map(old);
      for (const v of changed) next.set(v.id, v);
      return next;
    });
  }, []);

  useEffect(() => {
    const ctrl = new AbortController();
    let timer = 0;
    const tick = async () => {
      try {
        const page = (query: { state?: JobState; limit: number }) =>
          ok(api.GET("/api/v1/jobs", { params: { query }, signal: ctrl.signal })).then((p) => p.jobs);
        const [queued, active, newest] = await Promise.all([
          page({ state: "queued", limit: 1000 }),
          page({ state: "active", limit: 1000 }),
          page({ limit: 200 }),
        ]);
        const seen = new Set([...queued, ...active, ...newest].map((j) => j.id));
        // Jobs we knew as unfinished that are no longer listed as such: fetch them.
        const moved = [...ref.current.values()].filter((j) => !isFinished(j.state) && !seen.has(j.id)).slice(0, 100);
        const refreshed = await pool(moved, 8, (j) =>
          ok(api.GET("/api/v1/jobs/{id}", { params: { path: { id: j.id } }, signal: ctrl.signal })).catch(() => undefined),
        );
        merge([...queued, ...active, ...newest, ...refreshed.filter((j): j is JobView => !!j)]);
        setError(undefined);
      } catch (e) {
        if (!ctrl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      }
      if (!ctrl.signal.aborted) timer = window.setTimeout(() => void tick(), POLL_MS);
    };
    allJobs(ctrl.signal)
      .then((all) => {
        merge(all);
        setLoaded(true);
        timer = window.setTimeout(() => void tick(), POLL_MS);
      })
      .catch((e: unknown) => {
        if (!ctrl.signal.aborted) setError(e instanceof Error ? e.message : String(e));
      });
    return () => {
      ctrl.abort();
      window.clearTimeout(timer);
    };
  }, [merge]);
  return { jobs, error, loaded, merge };
}

/** Runs `f` over `items`, at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>, progress?: (done: number) => void): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let done = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
      progress?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, run));
  return out;
}

export function Queue() {
  const { jobs, error, loaded, merge } = useAllJobs();
  const [state, setState] = useState<string>("");
  const [model, setModel] = useState<string>("");
  const [skill, setSkill] = useState<string>("");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [cursor, setCursor] = useState(0);
  const [bulk, setBulk] = useState<string>();

  const all = useMemo(() => [...jobs.values()].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)), [jobs]);
  const models = useMemo(() => [...new Set(all.map((j) => j.model))].sort(), [all]);
  const skills = useMemo(() => [...new Set(all.flatMap((j) => (j.skills ?? []).map((s) => s.name)))].sort(), [all]);
  const shown = useMemo(
    () =>
      all.filter(
        (j) =>
          (!state || j.state === state) &&
          (!model || j.model === model) &&
          (!skill || (j.skills ?? []).some((s) => s.name === skill)),
      ),
    [all, state, model, skill],
  );
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const j of all) c[j.state] = (c[j.state] ?? 0) + 1;
    return c;
  }, [all]);

  const phone = usePhone();
  const coarse = useMedia("(pointer: coarse)");
  const rowHeight = phone ? ROW.card : coarse ? ROW.touch : ROW.desk;
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => rowHeight, overscan: 4 });
  useEffect(() => v.measure(), [rowHeight, v]);
  const move = (d: number) => {
    const i = Math.min(shown.length - 1, Math.max(0, cursor + d));
    setCursor(i);
    v.scrollToIndex(i, { align: "auto" });
  };
  const toggle = useCallback(
    (id: string) =>
      setSelected((s) => {
        const n = new Set(s);
        if (n.has(id)) n.delete(id);
        else n.add(id);
        return n;
      }),
    [],
  );
  useShortcuts([
    { keys: "j", help: "down", run: () => move(1) },
    { keys: "k", help: "up", run: () => move(-1) },
    { keys: "x", help: "select", run: () => shown[cursor] && toggle(shown[cursor].id) },
    { keys: "enter", help: "open", run: () => shown[cursor] && navigate(`/job/${shown[cursor].id}`) },
    { keys: "escape", help: "clear", run: () => setSelected(new Set()) },
  ]);

  const cancellable = [...selected].map((id) => jobs.get(id)).filter((j): j is JobView => !!j && !isFinished(j.state));
  const cancelSelected = async () => {
    const targets = cancellable;
    if (targets.length === 0) return;
    setBulk(`cancelling 0 / ${targets.length}`);
    let failed = 0;
    await pool(
      targets,
      8,
      (j) =>
        ok(api.POST("/api/v1/jobs/{id}/cancel", { params: { path: { id: j.id } } })).catch(() => {
          failed += 1;
        }),
      (done) => setBulk(`cancelling ${done} / ${targets.length}`),
    );
    const fresh = await pool(targets, 8, (j) =>
      ok(api.GET("/api/v1/jobs/{id}", { params: { path: { id: j.id } } })).catch(() => undefined),
    );
    merge(fresh.filter((j): j is JobView => !!j));
    setSelected(new Set());
    setBulk(`cancelled ${targets.length - failed} job${targets.length - failed === 1 ? "" : "s"}${failed ? `, ${failed} could not be` : ""}`);
  };

  const allShownSelected = shown.length > 0 && shown.every((j) => selected.has(j.id));
  return (
    <div className="page queue">
      <header className="page-head">
        <h1>queue</h1>
        <span className="dim" data-testid="queue-count">
          {loaded ? `${num(shown.length)} of ${num(all.length)} jobs` : "loading…"}
        </span>
        <span className="counts">
          {STATES.map((s) => (
            <span key={s} className={`badge state-${s}`}>{s} {num(counts[s] ?? 0)}</span>
          ))}
        </span>
      </header>
      <div className="filters" role="group" aria-label="filters">
        <label>
          state
          <select aria-label="filter by state" value={state} onChange={(e) => { setState(e.target.value); setCursor(0); }}>
            <option value="">all</option>
            {STATES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>
          model
          <select aria-label="filter by model" value={model} onChange={(e) => { setModel(e.target.value); setCursor(0); }}>
            <option value="">all</option>
            {models.map((m) => <option key={m} value={m}>{m}</option>)}
          </select>
        </label>
        <label>
          skill
          <select aria-label="filter by skill" value={skill} onChange={(e) => { setSkill(e.target.value); setCursor(0); }}>
            <option value="">all</option>
            {skills.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <span className="spacer" />
        <span className="dim">{selected.size} selected</span>
        <button type="button" className="danger" disabled={cancellable.length === 0} onClick={() => void cancelSelected()}>
          cancel {cancellable.length || ""} selected
        </button>
      </div>
      {bulk && <p className="dim" role="status">{bulk}</p>}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="table-head queue-row" role="row">
        <label className="check">
          <input
            type="checkbox"
            aria-label="select every job shown"
            checked={allShownSelected}
            onChange={() => setSelected(allShownSelected ? new Set() : new Set(shown.map((j) => j.id)))}
          />
        </label>
        <span className="q-all" aria-hidden="true">all shown</span>
        <span>job</span><span>state</span><span>model</span><span className="q-skills">skills</span><span>created</span><span>tokens</span><span>prompt</span>
      </div>
      <div className="scroller queue-list" ref={scroller} data-testid="queue-list" role="grid" aria-rowcount={shown.length}>
        <div style={{ height: v.getTotalSize(), position: "relative" }}>
          {v.getVirtualItems().map((row) => {
            const j = shown[row.index];
            if (!j) return null;
            return (
              <Row
                key={j.id}
                job={j}
                index={row.index}
                start={row.start}
                height={rowHeight}
                cursor={row.index === cursor}
                selected={selected.has(j.id)}
                onCursor={setCursor}
                onToggle={toggle}
              />
            );
          })}
        </div>
        {loaded && shown.length === 0 && <p className="dim pad">No job matches.</p>}
      </div>
    </div>
  );
}

/** One row; memoised, so scrolling renders only the rows that come into view. */
const Row = memo(function Row({
  job: j,
  index,
  start,
  height,
  cursor,
  selected,
  onCursor,
  onToggle,
}: {
  job: JobView;
  index: number;
  start: number;
  height: number;
  cursor: boolean;
  selected: boolean;
  onCursor: (i: number) => void;
  onToggle: (id: string) => void;
}) {
  return (
    <div
      role="row"
      aria-rowindex={index + 1}
      aria-selected={selected}
      data-id={j.id}
      className={`queue-row${cursor ? " cursor" : ""}${selected ? " selected" : ""}`}
      style={{ position: "absolute", top: 0, left: 0, right: 0, height, transform: `translateY(${start}px)` }}
      onClick={() => onCursor(index)}
    >
      <label className="check">
        <input type="checkbox" aria-label={`select job ${shortId(j.id)}`} checked={selected} onChange={() => onToggle(j.id)} />
      </label>
      <span className="q-id"><a className="touch" href={`/job/${j.id}`} onClick={link(`/job/${j.id}`)}>{shortId(j.id)}</a></span>
      <span className="q-state"><StateBadge state={j.state} /></span>
      <span className="q-model ellipsis">{j.model}</span>
      <span className="q-skills ellipsis">{(j.skills ?? []).map((s) => s.name).join(", ")}</span>
      <span className="q-age dim">{ago(j.created_at)}</span>
      <span className="q-tokens">{num(j.usage?.completion_tokens)}{j.usage && <span className="q-unit dim"> tok</span>}</span>
      <span className="q-prompt ellipsis dim">{j.prompt.slice(0, 140)}</span>
    </div>
  );
});
