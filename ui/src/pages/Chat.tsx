// Chat: sessions on the left, the conversation in the middle, the live
// inspector of the current job on the right. On a tablet the inspector is a
// drawer; on a phone the sessions are one too (opened from the top bar).
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { api, ok, type ChatMessage, type JobView, type SessionSummary } from "../api/client";
import { DrawerButton, Pane, TopBarActions, useDrawer } from "../components/Layout";
import { copyText, Markdown } from "../components/Markdown";
import { ModelPicker, RagPicker, SkillPicker, ToolPicker, type RagChoice } from "../components/Pickers";
import { SourceList } from "../components/Sources";
import { StateBadge } from "../components/StateBadge";
import { AnswerWithTools, ToolCallList } from "../components/ToolCalls";
import { useLoad, useModels, useSkills, useStored, useTools } from "../lib/data";
import { timings, useJobStream, type Live } from "../lib/jobStream";
import { useShortcuts } from "../lib/keys";
import { sendableChoice } from "../lib/tools";
import { ago, ms, num, shortId } from "../lib/format";
import { SHORT, useMedia, usePhone } from "../lib/layout";
import { link, navigate } from "../lib/router";

export function Chat({ sessionId }: { sessionId?: string }) {
  const sessions = useLoad((signal) => ok(api.GET("/api/v1/sessions", { params: { query: { limit: 1000 } }, signal })), []);
  const detail = useLoad(
    async (signal) => (sessionId ? ok(api.GET("/api/v1/sessions/{id}", { params: { path: { id: sessionId } }, signal })) : undefined),
    [sessionId],
  );
  const messages = useMemo(() => (detail.data?.id === sessionId ? detail.data?.messages ?? [] : []), [detail.data, sessionId]);

  // The job of the last user message that has no answer yet, if any.
  const pendingJob = useMemo(() => {
    const last = messages[messages.length - 1];
    return last?.role === "user" && last.job_id ? last.job_id : undefined;
  }, [messages]);
  const lastJob = useMemo(() => [...messages].reverse().find((m) => m.job_id)?.job_id ?? undefined, [messages]);
  const inspected = pendingJob ?? lastJob;
  const live = useJobStream(inspected);

  // When the pending job completes, the worker records the answer: refetch
  // until it is there.
  useEffect(() => {
    if (!pendingJob || live.state !== "completed") return;
    let tries = 0;
    let timer = 0;
    const poll = async () => {
      const d = await detail.reload();
      void sessions.reload();
      const answered = d?.messages.some((m) => m.role === "assistant" && m.job_id === pendingJob);
      if (!answered && ++tries < 40) timer = window.setTimeout(() => void poll(), 150);
    };
    void poll();
    return () => window.clearTimeout(timer);
  }, [pendingJob, live.state]);

  const streaming = !!pendingJob && !live.finished;
  const stop = useCallback(async () => {
    if (pendingJob) await api.POST("/api/v1/jobs/{id}/cancel", { params: { path: { id: pendingJob } } });
  }, [pendingJob]);

  const sessionsDrawer = useDrawer("phone");
  const inspectorDrawer = useDrawer("tablet");
  const { setOpen: setSessionsOpen } = sessionsDrawer;
  useEffect(() => setSessionsOpen(false), [sessionId, setSessionsOpen]);

  const newChat = useCallback(() => {
    setSessionsOpen(false);
    navigate("/");
    window.setTimeout(() => document.getElementById("prompt")?.focus(), 0);
  }, [setSessionsOpen]);

  const list = sessions.data?.sessions ?? [];
  const go = (delta: number) => {
    if (list.length === 0) return;
    const i = list.findIndex((s) => s.id === sessionId);
    const next = list[Math.min(list.length - 1, Math.max(0, i < 0 ? 0 : i + delta))];
    if (next) navigate(`/chat/${next.id}`);
  };
  useShortcuts([
    { keys: "/", help: "focus the prompt", run: () => document.getElementById("prompt")?.focus() },
    { keys: "escape", help: "stop", inFields: true, run: () => (streaming ? void stop() : (document.activeElement as HTMLElement | null)?.blur()) },
    { keys: "j", help: "next session", run: () => go(1) },
    { keys: "k", help: "previous session", run: () => go(-1) },
    { keys: "n", help: "new chat", run: newChat },
  ]);

  return (
    <div className="chat panes">
      <TopBarActions side="start">
        <DrawerButton drawer={sessionsDrawer}>chats</DrawerButton>
      </TopBarActions>
      <TopBarActions side="end">
        <DrawerButton drawer={inspectorDrawer}>inspector</DrawerButton>
      </TopBarActions>
      <Pane drawer={sessionsDrawer} side="start" label="chat sessions" className="sessions">
        <Sessions sessions={list} active={sessionId} error={sessions.error} onNew={newChat} />
      </Pane>
      <section className="conversation pane-main" aria-label="conversation">
        {sessionId && detail.data?.id === sessionId && (
          <SessionHead
            session={detail.data}
            onChanged={() => {
              void sessions.reload();
              void detail.reload();
            }}
          />
        )}
        {detail.error && sessionId && <p className="error" role="alert">{detail.error}</p>}
        <Conversation messages={messages} pendingJob={pendingJob} live={live} liveJob={inspected} sessionId={sessionId} />
        <Composer
          sessionId={sessionId}
          streaming={streaming}
          onStop={() => void stop()}
          onSent={async (id) => {
            if (id !== sessionId) navigate(`/chat/${id}`, { replace: !sessionId });
            else await detail.reload();
            void sessions.reload();
          }}
        />
      </section>
      <Pane drawer={inspectorDrawer} side="end" label="inspector" className="inspector">
        <Inspector jobId={inspected} live={live} />
      </Pane>
    </div>
  );
}

function Sessions({
  sessions,
  active,
  error,
  onNew,
}: {
  sessions: SessionSummary[];
  active?: string;
  error?: string;
  onNew: () => void;
}) {
  const [query, setQuery] = useState("");
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    return q ? sessions.filter((s) => (s.title || "untitled").toLowerCase().includes(q)) : sessions;
  }, [sessions, query]);
  const scroller = useRef<HTMLDivElement>(null);
  const v = useVirtualizer({ count: shown.length, getScrollElement: () => scroller.current, estimateSize: () => 56, overscan: 8 });
  const activeIndex = shown.findIndex((s) => s.id === active);
  useEffect(() => {
    if (activeIndex >= 0) v.scrollToIndex(activeIndex, { align: "auto" });
  }, [activeIndex, v]);

  return (
    <>
      <div className="pane-head">
        <button type="button" onClick={onNew} title="New chat (n)">
          + new chat
        </button>
      </div>
      <input
        className="search"
        type="search"
        aria-label="search sessions"
        placeholder="search…"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
      />
      {error && <p className="error">{error}</p>}
      <div className="scroller" ref={scroller}>
        <ul style={{ height: v.getTotalSize(), position: "relative" }}>
          {v.getVirtualItems().map((row) => {
            const s = shown[row.index];
            if (!s) return null;
            const current = s.id === active;
            return (
              <li
                key={s.id}
                className={current ? "session current" : "session"}
                style={{ position: "absolute", top: 0, left: 0, right: 0, height: row.size, transform: `translateY(${row.start}px)` }}
              >
                <a href={`/chat/${s.id}`} onClick={link(`/chat/${s.id}`)} aria-current={current ? "page" : undefined}>
                  <span className="title">{s.title || "untitled"}</span>
                  <span className="dim small">
                    {s.message_count} msgs · {ago(s.updated_at)}
                  </span>
                </a>
              </li>
            );
          })}
        </ul>
        {shown.length === 0 && <p className="dim pad">{query ? "No session matches." : "No chats yet."}</p>}
      </div>
    </>
  );
}

function SessionHead({ session, onChanged }: { session: SessionSummary; onChanged: () => void }) {
  const [renaming, setRenaming] = useState(false);
  const rename = async (title: string) => {
    setRenaming(false);
    if (title.trim() && title !== session.title) {
      await api.PATCH("/api/v1/sessions/{id}", { params: { path: { id: session.id } }, body: { title: title.trim() } });
      onChanged();
    }
  };
  const remove = async () => {
    if (!window.confirm(`Delete “${session.title || "untitled"}” and its messages?`)) return;
    await api.DELETE("/api/v1/sessions/{id}", { params: { path: { id: session.id } } });
    navigate("/");
    onChanged();
  };
  return (
    <header className="session-head">
      {renaming ? (
        <input
          aria-label="new title"
          defaultValue={session.title}
          autoFocus
          onBlur={(e) => void rename(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter") void rename(e.currentTarget.value);
            if (e.key === "Escape") {
              e.preventDefault();
              e.stopPropagation();
              setRenaming(false);
            }
          }}
        />
      ) : (
        <h1 className="ellipsis">{session.title || "untitled"}</h1>
      )}
      <button type="button" className="ghost small" onClick={() => setRenaming(true)}>
        rename
      </button>
      <button type="button" className="ghost small danger" onClick={() => void remove()}>
        delete
      </button>
    </header>
  );
}

function Conversation({
  messages,
  pendingJob,
  live,
  liveJob,
  sessionId,
}: {
  messages: ChatMessage[];
  pendingJob?: string;
  live: Live;
  /** The job `live` follows. */
  liveJob?: string;
  sessionId?: string;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  const count = messages.length + (pendingJob ? 1 : 0);
  const v = useVirtualizer({
    count,
    getScrollElement: () => scroller.current,
    estimateSize: () => 120,
    overscan: 6,
    getItemKey: (i) => messages[i]?.id ?? `pending-${pendingJob}`,
  });
  // A new session opens at its end; new output keeps the end in view
  // unless the reader has scrolled up.
  useEffect(() => {
    stick.current = true;
  }, [sessionId]);
  useEffect(() => {
    if (stick.current && count > 0) v.scrollToIndex(count - 1, { align: "end" });
  }, [count, live.output, live.tools, v]);
  const onScroll = () => {
    const el = scroller.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 48;
  };

  if (count === 0) {
    return (
      <div className="scroller messages empty-chat" ref={scroller}>
        <div className="hello">
          <p>Ask anything. <kbd>/</kbd> focuses the prompt, <kbd>Ctrl+Enter</kbd> sends, <kbd>?</kbd> lists every shortcut.</p>
        </div>
      </div>
    );
  }
  return (
    <div className="scroller messages" ref={scroller} onScroll={onScroll} data-testid="messages">
      <div style={{ height: v.getTotalSize(), position: "relative" }}>
        {v.getVirtualItems().map((row) => {
          const m = messages[row.index];
          return (
            <div
              key={row.key}
              data-index={row.index}
              ref={v.measureElement}
              style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${row.start}px)` }}
            >
              {m ? <Message m={m} live={m.job_id && m.job_id === liveJob ? live : undefined} /> : <Streaming live={live} jobId={pendingJob} />}
            </div>
          );
        })}
      </div>
    </div>
  );
}

/** A recorded message; `live` is its job's stream when the page follows that job. */
function Message({ m, live }: { m: ChatMessage; live?: Live }) {
  return (
    <article className={`msg ${m.role}`} data-role={m.role}>
      <header>
        <span className="who">{m.role === "user" ? "you" : m.role}</span>
        {m.role === "assistant" && m.job_id && (
          <a className="dim small touch" href={`/job/${m.job_id}`} onClick={link(`/job/${m.job_id}`)}>
            job {shortId(m.job_id)}
          </a>
        )}
        <span className="spacer" />
        <CopyButton text={m.content} />
      </header>
      {m.role !== "assistant" ? (
        <div className="plain">{m.content}</div>
      ) : live && live.tools.length > 0 ? (
        <AnswerWithTools text={m.content} tools={live.tools} />
      ) : (
        <>
          {!live && m.job_id && <EarlierToolCalls jobId={m.job_id} />}
          <Markdown text={m.content} />
        </>
      )}
      {m.role === "assistant" &&
        (live?.retrieval ? (
          <SourceList sources={live.retrieval.sources} vault={live.retrieval.vault} reused={live.retrieval.reused} />
        ) : (
          m.job_id && <EarlierSources jobId={m.job_id} />
        ))}
    </article>
  );
}

/** Finished jobs (tool use, sources) never change, so each is fetched once a page load. */
const finishedJobs = new Map<string, Promise<JobView>>();

function useFinishedJob(jobId: string): JobView | undefined {
  const [job, setJob] = useState<JobView>();
  useEffect(() => {
    let gone = false;
    let p = finishedJobs.get(jobId);
    if (!p) {
      p = ok(api.GET("/api/v1/jobs/{id}", { params: { path: { id: jobId } } }));
      finishedJobs.set(jobId, p);
      p.catch(() => finishedJobs.delete(jobId));
    }
    p.then((j) => !gone && setJob(j)).catch(() => {});
    return () => {
      gone = true;
    };
  }, [jobId]);
  return job;
}

/** An earlier answer's sources, from its job's record. */
function EarlierSources({ jobId }: { jobId: string }) {
  const job = useFinishedJob(jobId);
  return job?.sources?.length ? <SourceList sources={job.sources} vault={job.vault} /> : null;
}

/**
 * An earlier answer's tool calls: one line that says how many, which opens
 * to the calls themselves (read from the job's log only then).
 */
function EarlierToolCalls({ jobId }: { jobId: string }) {
  const job = useFinishedJob(jobId);
  const [open, setOpen] = useState(false);
  const stats = job?.tool_stats;
  if (!stats?.calls) return null;
  return (
    <details className="tool-summary" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        <span className="dim">
          {stats.calls} tool call{stats.calls === 1 ? "" : "s"}, {ms(stats.duration_ms)}
          {stats.errors ? `, ${stats.errors} failed` : ""}
        </span>
      </summary>
      {open && <JobToolCalls jobId={jobId} />}
    </details>
  );
}

function JobToolCalls({ jobId }: { jobId: string }) {
  const live = useJobStream(jobId);
  if (!live.finished && live.tools.length === 0) return <p className="dim">loading…</p>;
  return <ToolCallList calls={live.tools} />;
}

/** A visible copy control (no hover needed, so it works by touch). */
function CopyButton({ text }: { text: string }) {
  const [said, setSaid] = useState<string>();
  useEffect(() => {
    if (!said) return;
    const t = window.setTimeout(() => setSaid(undefined), 1500);
    return () => window.clearTimeout(t);
  }, [said]);
  return (
    <button
      type="button"
      className="ghost small"
      aria-label={said ? undefined : "Copy message"}
      onClick={() => void copyText(text).then((ok) => setSaid(ok ? "copied" : "copy failed"))}
    >
      {said ?? "copy"}
    </button>
  );
}

function Streaming({ live, jobId }: { live: Live; jobId?: string }) {
  const waiting = live.state === "unknown" || live.state === "queued";
  return (
    <article className="msg assistant streaming" data-role="assistant" data-state={live.state} aria-busy={!live.finished}>
      <header>
        <span className="who">assistant</span>
        {jobId && (
          <a className="dim small touch" href={`/job/${jobId}`} onClick={link(`/job/${jobId}`)}>
            job {shortId(jobId)}
          </a>
        )}
        <StateBadge state={live.state} />
      </header>
      {live.output || live.tools.length > 0 ? (
        <AnswerWithTools text={live.output} tools={live.tools} />
      ) : waiting ? (
        <p className="dim">waiting for a worker…</p>
      ) : null}
      {!live.finished && live.state === "active" && <span className="caret" aria-hidden="true" />}
      {live.retrieval && <SourceList sources={live.retrieval.sources} vault={live.retrieval.vault} reused={live.retrieval.reused} />}
      {live.error && live.state !== "completed" && (
        <p className={live.state === "cancelled" ? "dim" : "error"} role="status">
          {live.state === "cancelled" ? "stopped" : `failed: ${live.error}`}
        </p>
      )}
    </article>
  );
}

function Composer({
  sessionId,
  streaming,
  onStop,
  onSent,
}: {
  sessionId?: string;
  streaming: boolean;
  onStop: () => void;
  onSent: (sessionId: string) => Promise<void>;
}) {
  const models = useModels();
  const skills = useSkills();
  const tools = useTools();
  const [model, setModel] = useStored("model", "");
  const [chosen, setChosen] = useStored<string[]>("skills", []);
  const [chosenTools, setChosenTools] = useStored<string[]>("tools", []);
  const [toolChoice, setToolChoice] = useStored("tool_choice", "");
  const [temperature, setTemperature] = useStored("temperature", "");
  const [maxTokens, setMaxTokens] = useStored("max_tokens", "");
  const [rag, setRag] = useStored<RagChoice>("rag", { on: false, vault: "", mode: "augment" });
  const [text, setText] = useState("");
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const phone = usePhone();
  // On a phone, or a screen held sideways, the prompt starts at one line and its options fold away.
  const compact = useMedia(SHORT) || phone;
  const [options, setOptions] = useState(false);
  const prompt = useRef<HTMLTextAreaElement>(null);

  // The prompt grows with its text (up to a cap set in CSS, then it scrolls).
  useLayoutEffect(() => {
    const el = prompt.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${el.scrollHeight + el.offsetHeight - el.clientHeight}px`;
  }, [text, compact]);

  const send = async () => {
    const content = text.trim();
    if (!content || busy || streaming) return;
    setBusy(true);
    setError(undefined);
    try {
      let id = sessionId;
      if (!id) id = (await ok(api.POST("/api/v1/sessions", { body: { title: null } }))).id;
      const params: Record<string, unknown> = {};
      if (temperature !== "") params.temperature = Number(temperature);
      if (maxTokens !== "") params.max_tokens = Number(maxTokens);
      const known = new Set((skills.data ?? []).map((s) => s.name));
      const enabled = new Set((tools.data ?? []).map((t) => t.name));
      const useTools = chosenTools.filter((t) => enabled.has(t));
      const choice = sendableChoice(toolChoice, useTools);
      await ok(
        api.POST("/api/v1/sessions/{id}/messages", {
          params: { path: { id } },
          body: {
            content,
            model: model || null,
            skills: chosen.filter((s) => known.has(s)),
            params,
            tools: useTools,
            tool_choice: choice ?? null,
            rag: rag.on ? { vault: rag.vault || null, mode: rag.mode } : null,
          },
        }),
      );
      setText("");
      setOptions(false);
      await onSent(id);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="composer"
      aria-label="send a message"
      onSubmit={(e) => {
        e.preventDefault();
        void send();
      }}
    >
      <textarea
        id="prompt"
        ref={prompt}
        aria-label="prompt"
        placeholder={phone ? "Message…" : "Message… (Ctrl+Enter to send)"}
        rows={compact ? 1 : 3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
            e.preventDefault();
            void send();
          }
        }}
      />
      {error && <p className="error composer-error" role="alert">{error}</p>}
      {/* On a phone the options fold away behind one button that says what is chosen. */}
      <div className="composer-bar">
        {compact && (
          <button
            type="button"
            className="ghost options-toggle"
            aria-expanded={options}
            aria-controls="composer-options"
            onClick={() => setOptions((o) => !o)}
          >
            <span className="ellipsis">
              options · {model || "default model"}
              {chosen.length > 0 ? ` · ${chosen.length} skill${chosen.length === 1 ? "" : "s"}` : ""}
              {chosenTools.length > 0 ? ` · ${chosenTools.length} tool${chosenTools.length === 1 ? "" : "s"}` : ""}
              {rag.on ? " · RAG" : ""}
            </span>
          </button>
        )}
        <div className="composer-options" id="composer-options" hidden={compact && !options}>
          <ModelPicker providers={models.data} value={model} onChange={setModel} />
          <SkillPicker skills={skills.data} value={chosen} onChange={setChosen} />
          <ToolPicker tools={tools.data} value={chosenTools} onChange={setChosenTools} choice={toolChoice} onChoice={setToolChoice} />
          <RagPicker value={rag} onChange={setRag} />
          <label className="param">
            temp
            <input type="number" min={0} max={2} step={0.1} value={temperature} onChange={(e) => setTemperature(e.target.value)} aria-label="temperature" />
          </label>
          <label className="param">
            max tokens
            <input type="number" min={1} step={1} value={maxTokens} onChange={(e) => setMaxTokens(e.target.value)} aria-label="max tokens" />
          </label>
        </div>
      </div>
      <div className="composer-send">
        {streaming ? (
          <button type="button" className="danger" onClick={onStop} title="Stop (Esc)">
            ■ stop
          </button>
        ) : (
          <button type="submit" disabled={busy || !text.trim()} title="Send (Ctrl+Enter)">
            {phone ? "send" : "send ⏎"}
          </button>
        )}
      </div>
    </form>
  );
}

function Inspector({ jobId, live }: { jobId?: string; live: Live }) {
  const job = useLoad(
    async (signal): Promise<JobView | undefined> =>
      jobId ? ok(api.GET("/api/v1/jobs/{id}", { params: { path: { id: jobId } }, signal })) : undefined,
    [jobId, live.finished],
  );
  const [, tick] = useState(0);
  useEffect(() => {
    if (live.finished || live.state !== "active") return;
    const t = window.setInterval(() => tick((n) => n + 1), 500);
    return () => window.clearInterval(t);
  }, [live.finished, live.state]);
  if (!jobId) {
    return <p className="dim pad">The job behind each answer shows here: model, tokens, timings, skills.</p>;
  }
  const j = job.data?.id === jobId ? job.data : undefined;
  const { ttft, tps } = timings(live);
  const usage = live.usage ?? j?.usage ?? undefined;
  // The stream counts calls as they come; the record once the job is done.
  const toolStats = live.toolTotals.calls > 0 ? { calls: live.toolTotals.calls, errors: live.toolTotals.errors, duration_ms: live.toolTotals.durationMs } : j?.tool_stats;
  return (
    <>
      <h2>
        job <a className="touch" href={`/job/${jobId}`} onClick={link(`/job/${jobId}`)}>{shortId(jobId)}</a>
      </h2>
      <dl className="facts">
        <dt>state</dt>
        <dd data-testid="inspector-state"><StateBadge state={live.state !== "unknown" ? live.state : j?.state ?? "unknown"} /></dd>
        <dt>model</dt>
        <dd>{live.model ?? j?.model ?? "–"}</dd>
        <dt>prompt tokens</dt>
        <dd data-testid="prompt-tokens">{num(usage?.prompt_tokens)}</dd>
        <dt>completion tokens</dt>
        <dd data-testid="completion-tokens">{num(usage?.completion_tokens ?? (live.tokens || undefined))}{usage?.estimated ? " (est.)" : ""}</dd>
        <dt>first token</dt>
        <dd>{ms(ttft)}</dd>
        <dt>tokens/s</dt>
        <dd>{num(tps, 1)}</dd>
        <dt>attempts</dt>
        <dd>{Math.max(live.attempt, j?.attempts ?? 0)} / {j?.max_attempts ?? "–"}</dd>
        <dt>tools</dt>
        <dd data-testid="inspector-tools">{(j?.tools ?? []).length ? j?.tools?.join(", ") : "none"}</dd>
        {(toolStats?.calls ?? 0) > 0 && (
          <>
            <dt>tool calls</dt>
            <dd data-testid="inspector-tool-calls">
              {toolStats!.calls}
              {toolStats!.errors ? `, ${toolStats!.errors} failed` : ""}
            </dd>
            <dt>tool time</dt>
            <dd>{ms(toolStats!.duration_ms)}</dd>
          </>
        )}
        <dt>skills</dt>
        <dd>
          {(j?.skills ?? []).length === 0
            ? "none"
            : j?.skills?.map((s) => (
                <span key={s.name} className="chip" title={s.sha256}>
                  {s.name} <span className="dim">{s.sha256.slice(0, 8)}</span>
                </span>
              ))}
        </dd>
        {(live.retrieval || j?.vault) && (
          <>
            <dt>retrieval</dt>
            <dd data-testid="inspector-retrieval">
              {live.retrieval ? `${live.retrieval.mode} from ${live.retrieval.vault}${live.retrieval.reused ? ", reused" : ""}` : `from ${j?.vault}`}
            </dd>
          </>
        )}
      </dl>
      {(live.retrieval?.sources.length || j?.sources?.length) ? (
        <SourceList sources={live.retrieval?.sources ?? j?.sources ?? []} vault={live.retrieval?.vault ?? j?.vault} label="sources of this job" />
      ) : null}
      {live.error && <p className={live.state === "failed" ? "error" : "dim"}>{live.error}</p>}
    </>
  );
}
