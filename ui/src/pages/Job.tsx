// One job: output, metadata, usage, skill provenance, the event timeline,
// actions (replay, cancel, retry), sibling runs and a diff against any.
import { useEffect, useMemo, useRef, useState } from "react";
import { api, isFinished, ok, type JobEvent, type JobView, type SkillSnapshot } from "../api/client";
import { DiffView } from "../components/Diff";
import { SourceList, sourceLabel, score } from "../components/Sources";
import { ModelPicker } from "../components/Pickers";
import { StateBadge } from "../components/StateBadge";
import { AnswerWithTools } from "../components/ToolCalls";
import { useLoad, useModels } from "../lib/data";
import { timings, useJobStream } from "../lib/jobStream";
import { useShortcuts } from "../lib/keys";
import { ms, num, shortId, size, stamp } from "../lib/format";
import { callTarget, prettyArgs } from "../lib/tools";
import { link, navigate, useSearch } from "../lib/router";

export function JobPage({ id }: { id: string }) {
  const live = useJobStream(id);
  const job = useLoad((signal) => ok(api.GET("/api/v1/jobs/{id}", { params: { path: { id } }, signal })), [id, live.finished, live.state]);
  const siblings = useLoad((signal) => ok(api.GET("/api/v1/jobs/{id}/siblings", { params: { path: { id } }, signal })), [id, live.finished]);
  const [replaying, setReplaying] = useState(false);
  const [raw, setRaw] = useState(false);
  const [actionError, setActionError] = useState<string>();
  const search = useSearch();
  const against = search.get("diff") ?? undefined;

  useShortcuts([
    { keys: "r", help: "replay", run: () => setReplaying(true) },
    { keys: "escape", help: "close", inFields: true, run: () => setReplaying(false) },
  ]);

  const j = job.data;
  if (job.error && !j) return <div className="page"><p className="error" role="alert">{job.error}</p></div>;
  if (!j) return <div className="page"><p className="dim">loading…</p></div>;

  const state = live.state !== "unknown" ? live.state : j.state;
  const output = isFinished(j.state) ? j.output : live.output || j.output;
  const { ttft, tps } = timings(live);
  const usage = j.usage ?? live.usage;
  // Tool calls and their places in the answer come from the log; for a
  // finished job the record's output is the same text.
  const tools = live.tools;
  const toolStats = j.tool_stats?.calls
    ? j.tool_stats
    : live.toolTotals.calls > 0
      ? { calls: live.toolTotals.calls, errors: live.toolTotals.errors, duration_ms: live.toolTotals.durationMs }
      : undefined;

  const act = async (what: "cancel" | "retry") => {
    setActionError(undefined);
    try {
      if (what === "cancel") await ok(api.POST("/api/v1/jobs/{id}/cancel", { params: { path: { id: j.id } } }));
      else await ok(api.POST("/api/v1/jobs/{id}/retry", { params: { path: { id: j.id } } }));
      await job.reload();
    } catch (e) {
      setActionError(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <div className="page job">
      <header className="page-head">
        <h1>
          job <span className="mono-id" title={j.id}>{j.id}</span>
        </h1>
        <StateBadge state={state} />
        <span className="spacer" />
        {(state === "queued" || state === "active") && (
          <button type="button" className="danger" onClick={() => void act("cancel")}>cancel</button>
        )}
        {(state === "failed" || state === "cancelled") && (
          <button type="button" onClick={() => void act("retry")}>retry</button>
        )}
        <button type="button" onClick={() => setReplaying((r) => !r)} title="Replay (r)" aria-expanded={replaying}>
          replay…
        </button>
      </header>
      {actionError && <p className="error" role="alert">{actionError}</p>}
      {replaying && <ReplayForm job={j} onClose={() => setReplaying(false)} />}

      <div className="job-grid">
        <section aria-label="output" className="card output">
          <div className="card-head">
            <h2>output</h2>
            <button type="button" className="ghost small" onClick={() => setRaw((r) => !r)} aria-pressed={raw}>
              {raw ? "rendered" : "raw"}
            </button>
          </div>
          {output || tools.length > 0 ? raw ? <pre className="raw" data-testid="output">{output}</pre> : <div data-testid="output"><AnswerWithTools text={output} tools={tools} /></div> : <p className="dim">{isFinished(j.state) ? "no output" : "no output yet"}</p>}
          {j.error && <p className={state === "failed" ? "error" : "dim"}>{j.error}</p>}
        </section>

        <section aria-label="details" className="card meta">
          <h2>details</h2>
          <dl className="facts">
            <dt>model</dt><dd>{j.model}</dd>
            <dt>params</dt><dd><code>{Object.keys(j.params ?? {}).length ? JSON.stringify(j.params) : "defaults"}</code></dd>
            <dt>priority</dt><dd>{j.priority}</dd>
            <dt>attempts</dt><dd>{Math.max(j.attempts, live.attempt)} / {j.max_attempts}</dd>
            <dt>worker</dt><dd>{j.worker ?? live.worker ?? "–"}</dd>
            <dt>created</dt><dd>{stamp(j.created_at)}</dd>
            <dt>started</dt><dd>{stamp(j.started_at)}</dd>
            <dt>finished</dt><dd>{stamp(j.finished_at)}</dd>
            {j.parent_id && (<><dt>replay of</dt><dd><a className="touch" href={`/job/${j.parent_id}`} onClick={link(`/job/${j.parent_id}`)}>{shortId(j.parent_id)}</a></dd></>)}
            {j.session_id && (<><dt>chat</dt><dd><a className="touch" href={`/chat/${j.session_id}`} onClick={link(`/chat/${j.session_id}`)}>open the session</a></dd></>)}
            {j.client && (<><dt>client</dt><dd data-testid="client">{clientLine(j.client)}</dd></>)}
          </dl>
          <h2>usage</h2>
          <dl className="facts">
            <dt>prompt tokens</dt><dd>{num(usage?.prompt_tokens)}</dd>
            <dt>completion tokens</dt><dd>{num(usage?.completion_tokens)}{usage?.estimated ? " (est.)" : ""}</dd>
            <dt>first token</dt><dd>{ms(usage?.ttft_ms ?? ttft)}</dd>
            <dt>tokens/s</dt><dd>{num(usage?.tokens_per_s ?? tps, 1)}</dd>
            <dt>duration</dt><dd>{ms(usage?.duration_ms)}</dd>
          </dl>
          <h2>tools</h2>
          <dl className="facts" data-testid="tool-stats">
            <dt>allowed</dt><dd>{(j.tools ?? []).length ? j.tools!.join(", ") : "none"}</dd>
            {toolStats && (
              <>
                <dt>calls</dt><dd data-testid="tool-calls">{toolStats.calls}</dd>
                <dt>failed</dt><dd data-testid="tool-errors">{toolStats.errors}</dd>
                <dt>time</dt><dd>{ms(toolStats.duration_ms)}</dd>
              </>
            )}
          </dl>
          <Skills job={j} />
          {(live.retrieval?.sources.length || j.sources?.length) ? (
            <>
              <h2>sources</h2>
              <SourceList
                sources={live.retrieval?.sources ?? j.sources ?? []}
                vault={live.retrieval?.vault ?? j.vault}
                reused={live.retrieval?.reused}
              />
            </>
          ) : null}
        </section>

        <section aria-label="prompt" className="card prompt">
          <h2>prompt</h2>
          <pre className="raw">{j.prompt}</pre>
        </section>

        <section aria-label="timeline" className="card timeline">
          <h2>timeline</h2>
          <Timeline events={live.events} />
        </section>

        <section aria-label="runs" className="card siblings">
          <h2>runs of this prompt</h2>
          <Siblings jobs={siblings.data?.jobs ?? []} current={j.id} against={against} />
        </section>
      </div>
      {against && against !== j.id && <Compare a={j} bId={against} />}
    </div>
  );
}

function Skills({ job }: { job: JobView }) {
  const [snaps, setSnaps] = useState<SkillSnapshot[]>();
  const [open, setOpen] = useState<string>();
  const [error, setError] = useState<string>();
  const skills = job.skills ?? [];
  const show = async (name: string) => {
    if (open === name) return setOpen(undefined);
    setOpen(name);
    if (!snaps) {
      try {
        setSnaps(await ok(api.GET("/api/v1/jobs/{id}/skills", { params: { path: { id: job.id } } })));
      } catch (e) {
        setError(e instanceof Error ? e.message : String(e));
      }
    }
  };
  return (
    <>
      <h2>skills</h2>
      {skills.length === 0 && <p className="dim">none</p>}
      <ul className="skills">
        {skills.map((s) => (
          <li key={s.name}>
            <span>{s.name}</span> <code className="dim" title={s.sha256}>{s.sha256.slice(0, 12)}</code>{" "}
            <span className="dim small">{s.source}</span>{" "}
            <button type="button" className="ghost small" aria-expanded={open === s.name} onClick={() => void show(s.name)}>
              {open === s.name ? "hide text" : "show text"}
            </button>
            {open === s.name && (
              <pre className="raw snapshot" aria-label={`${s.name} snapshot`}>
                {error ?? snaps?.find((x) => x.name === s.name)?.text ?? "loading…"}
              </pre>
            )}
          </li>
        ))}
      </ul>
    </>
  );
}

/** Who sent a job through a compatible API: `openai · aider/0.80 · user alice · token laptop`. */
function clientLine(c: NonNullable<JobView["client"]>): string {
  return [`${c.api} API`, c.user_agent, c.user ? `user ${c.user}` : "", c.token ? `token ${c.token}` : ""].filter(Boolean).join(" · ");
}

interface Row {
  seq: number;
  ts: string;
  type: string;
  detail: string;
  /** What opens under a tool row: the arguments, or the result or error. */
  more?: { label: string; text: string; error?: boolean };
}

/** Token events collapse into runs, so a 2,000-token answer is one row. */
function Timeline({ events }: { events: JobEvent[] }) {
  const rows = useMemo(() => {
    const out: Row[] = [];
    for (const e of events) {
      const last = out[out.length - 1];
      if (e.type === "token" && last?.type === "token") {
        const n = Number(last.detail.split(" ")[0]) + 1;
        last.detail = `${n} tokens`;
        continue;
      }
      let detail = "";
      switch (e.type) {
        case "queued": detail = e.data.reason ?? `after ${e.data.attempts} attempts`; break;
        case "started": detail = `attempt ${e.data.attempt} on ${e.data.worker} · ${e.data.model}`; break;
        case "token": detail = "1 tokens"; break;
        case "tool_call": {
          const target = callTarget(e.data.arguments);
          out.push({ seq: e.seq, ts: e.ts, type: e.type, detail: `${e.data.tool}${target ? ` ${target}` : ""} · round ${e.data.round}`, more: { label: "arguments", text: prettyArgs(e.data.arguments) } });
          continue;
        }
        case "tool_result": {
          const d = e.data;
          const how = d.error ? `failed: ${d.error}` : [size(d.bytes), d.truncated ? "truncated" : "", d.reused ? "reused" : ""].filter(Boolean).join(", ");
          const more = d.error ? { label: "error", text: d.error, error: true } : d.result != null ? { label: "result", text: d.result } : undefined;
          out.push({ seq: e.seq, ts: e.ts, type: e.type, detail: `${d.tool} · ${ms(d.duration_ms)} · ${how}`, more });
          continue;
        }
        case "retrieval": {
          const d = e.data;
          const found = (d.sources ?? []).map((s) => `[${s.n}] ${sourceLabel(s)}  ${score(s.score)}`).join("\n");
          out.push({
            seq: e.seq,
            ts: e.ts,
            type: e.type,
            detail: `${d.mode} from ${d.vault} · ${d.sources.length} source${d.sources.length === 1 ? "" : "s"}${d.reused ? " · reused" : ""} · “${d.query}”`,
            more: { label: "sources", text: found || "no source found" },
          });
          continue;
        }
        case "usage": detail = `${e.data.prompt_tokens} prompt + ${e.data.completion_tokens} completion tokens`; break;
        case "done":
          detail = [e.data.finish_reason ?? "", e.data.tool_calls?.length ? `calls for the client: ${e.data.tool_calls.map((c) => c.name).join(", ")}` : ""].filter(Boolean).join(" · ");
          break;
        case "failed": detail = e.data.error; break;
        case "cancelled": detail = e.data.reason ?? ""; break;
      }
      out.push({ seq: e.seq, ts: e.ts, type: e.type, detail });
    }
    return out;
  }, [events]);
  if (rows.length === 0) return <p className="dim">no events yet</p>;
  const t0 = Date.parse(rows[0]!.ts);
  return (
    <table className="table compact" data-testid="timeline">
      <thead><tr><th>seq</th><th>+ms</th><th>event</th><th>detail</th></tr></thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.seq}>
            <td>{r.seq}</td>
            <td>{Date.parse(r.ts) - t0}</td>
            <td><span className={`badge ev-${r.type}`}>{r.type}</span></td>
            <td>
              {r.more ? (
                <details className="event-more">
                  <summary className={r.more.error ? "error" : undefined}>{r.detail}</summary>
                  <pre className={r.more.error ? "raw error" : "raw"} aria-label={r.more.label}>{r.more.text}</pre>
                </details>
              ) : (
                r.detail
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Siblings({ jobs, current, against }: { jobs: JobView[]; current: string; against?: string }) {
  if (jobs.length <= 1) return <p className="dim">Only this run. Replay it to compare models or parameters.</p>;
  return (
    <table className="table compact stack">
      <thead><tr><th>job</th><th>model</th><th>state</th><th>tokens</th><th /></tr></thead>
      <tbody>
        {jobs.map((s) => (
          <tr key={s.id} className={s.id === current ? "current" : undefined}>
            <td data-label="job"><span><a className="touch" href={`/job/${s.id}`} onClick={link(`/job/${s.id}`)}>{shortId(s.id)}</a>{s.id === current ? " (this)" : ""}</span></td>
            <td data-label="model">{s.model}</td>
            <td data-label="state"><span><StateBadge state={s.state} /></span></td>
            <td data-label="tokens">{num(s.usage?.completion_tokens)}</td>
            <td>
              {s.id !== current && (
                <a className="touch" href={`/job/${current}?diff=${s.id}`} onClick={link(`/job/${current}?diff=${s.id}`)} aria-current={against === s.id ? "true" : undefined}>
                  diff
                </a>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Compare({ a, bId }: { a: JobView; bId: string }) {
  const [mode, setMode] = useState<"unified" | "split">("unified");
  const b = useLoad((signal) => ok(api.GET("/api/v1/jobs/{id}", { params: { path: { id: bId } }, signal })), [bId]);
  const d = useLoad((signal) => ok(api.GET("/api/v1/diff", { params: { query: { a: bId, b: a.id } }, signal })), [bId, a.id, a.state]);
  const ref = useRef<HTMLElement>(null);
  const loaded = !!b.data && !!d.data;
  useEffect(() => {
    if (loaded) ref.current?.scrollIntoView({ block: "start" });
  }, [bId, loaded]);
  return (
    <section className="card compare" aria-label="diff" ref={ref}>
      <div className="card-head">
        <h2>
          diff: <span className="del-text">{shortId(bId)}</span> → <span className="add-text">{shortId(a.id)}</span> (this)
        </h2>
        <div role="group" aria-label="diff layout">
          <button type="button" className="ghost small" aria-pressed={mode === "unified"} onClick={() => setMode("unified")}>unified</button>
          <button type="button" className="ghost small" aria-pressed={mode === "split"} onClick={() => setMode("split")}>side by side</button>
          <button type="button" className="ghost small" onClick={() => navigate(`/job/${a.id}`)}>close</button>
        </div>
      </div>
      {(b.error || d.error) && <p className="error">{b.error ?? d.error}</p>}
      {d.data && d.data.fields.length > 0 && (
        <table className="table compact" aria-label="differing fields">
          <thead><tr><th>field</th><th>{shortId(bId)}</th><th>{shortId(a.id)}</th></tr></thead>
          <tbody>
            {d.data.fields.map((f) => (
              <tr key={f.field}><td>{f.field}</td><td className="del-text">{f.a ?? "–"}</td><td className="add-text">{f.b ?? "–"}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      {b.data && <DiffView a={b.data.output} b={a.output} mode={mode} />}
    </section>
  );
}

function ReplayForm({ job, onClose }: { job: JobView; onClose: () => void }) {
  const models = useModels();
  const [model, setModel] = useState("");
  const [params, setParams] = useState("");
  const [reuse, setReuse] = useState(false);
  const [error, setError] = useState<string>();
  const first = useRef<HTMLSelectElement>(null);
  useEffect(() => first.current?.focus(), []);
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setError(undefined);
    let parsed: Record<string, unknown> = {};
    if (params.trim()) {
      try {
        parsed = JSON.parse(params) as Record<string, unknown>;
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      } catch {
        setError('parameters must be a JSON object, e.g. {"temperature": 0.2}');
        return;
      }
    }
    try {
      const created = await ok(
        api.POST("/api/v1/jobs/{id}/replay", { params: { path: { id: job.id } }, body: { model: model || null, params: parsed, reuse_tool_results: reuse } }),
      );
      onClose();
      navigate(`/job/${created.id}`);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };
  return (
    <form className="card replay" aria-label="replay" onSubmit={(e) => void submit(e)}>
      <h2>replay with the same prompt and skill snapshots</h2>
      <label>
        model
        <SelectRef model={model} setModel={setModel} providers={models.data} selectRef={first} current={job.model} />
      </label>
      <label>
        parameters (JSON, merged over the original&apos;s)
        <input value={params} onChange={(e) => setParams(e.target.value)} placeholder='{"temperature": 0.2}' aria-label="replay parameters" />
      </label>
      {(job.tools ?? []).length > 0 && (
        <label className="inline-check">
          <input type="checkbox" checked={reuse} onChange={(e) => setReuse(e.target.checked)} />
          <span>reuse this run&apos;s results of read-only tools (search, fetch, vault) instead of calling them again</span>
        </label>
      )}
      {error && <p className="error" role="alert">{error}</p>}
      <div className="row">
        <button type="submit">replay</button>
        <button type="button" className="ghost" onClick={onClose}>cancel (Esc)</button>
      </div>
    </form>
  );
}

function SelectRef({
  model,
  setModel,
  providers,
  selectRef,
  current,
}: {
  model: string;
  setModel: (m: string) => void;
  providers: Parameters<typeof ModelPicker>[0]["providers"];
  selectRef: React.RefObject<HTMLSelectElement | null>;
  current: string;
}) {
  const known = (providers ?? []).flatMap((p) => p.models);
  return (
    <select ref={selectRef} aria-label="replay model" value={model} onChange={(e) => setModel(e.target.value)}>
      <option value="">same model ({current})</option>
      {known.filter((m) => m !== current).map((m) => (
        <option key={m} value={m}>{m}</option>
      ))}
    </select>
  );
}
