// Tool calls as the reader meets them: one line each (tool, target, time,
// size or error) that opens to the arguments and the result the model saw.
// In an answer they sit where the model made them, between its texts.
import { useEffect, useState, type ReactNode } from "react";
import type { ToolActivity } from "../lib/jobStream";
import { ms, size } from "../lib/format";
import { callTarget, prettyArgs } from "../lib/tools";
import { Markdown } from "./Markdown";

const ICON: Record<ToolActivity["status"], string> = {
  running: "⟳",
  done: "→",
  error: "✕",
  stopped: "■",
  client: "↗",
};

/** Seconds since `since` (the call's announcement), counting while `on`. */
function useElapsed(since: number, on: boolean): number | undefined {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!on) return;
    const t = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(t);
  }, [on]);
  // Clocks of browser and server may differ a little: never below zero.
  return on ? Math.max(0, Math.floor((now - since) / 1000)) : undefined;
}

/** What the one line says after the target. */
function outcome(c: ToolActivity, elapsed?: number): string {
  switch (c.status) {
    case "running":
      return elapsed ? `running… ${elapsed} s` : "running…";
    case "stopped":
      return "stopped before it ended";
    case "client":
      return "for the client to run";
    case "error":
      return `${ms(c.durationMs)}, failed: ${c.error ?? "error"}`;
    case "done":
      return [ms(c.durationMs), size(c.bytes), c.truncated ? "truncated" : "", c.reused ? "reused" : ""].filter(Boolean).join(", ");
  }
}

export function ToolCallRow({ call }: { call: ToolActivity }) {
  const target = callTarget(call.arguments);
  const elapsed = useElapsed(call.since, call.status === "running");
  return (
    <details className={`tool-call tool-${call.status}`} data-testid="tool-call" data-tool={call.tool} data-status={call.status}>
      <summary>
        <span className="tool-icon" aria-hidden="true">{ICON[call.status]}</span>
        <span className="tool-name">{call.tool}</span>
        {target && <span className="tool-target">{target}</span>}
        <span className={call.status === "error" ? "tool-outcome error" : "tool-outcome dim"}>{outcome(call, elapsed)}</span>
      </summary>
      <div className="tool-body">
        <p className="dim small">arguments{call.round > 0 ? ` · round ${call.round}` : ""}</p>
        <pre className="raw">{prettyArgs(call.arguments)}</pre>
        {call.error != null && (
          <>
            <p className="dim small">error (the model saw this instead of a result)</p>
            <pre className="raw error">{call.error}</pre>
          </>
        )}
        {call.result != null && (
          <>
            <p className="dim small">
              result{call.truncated ? `, cut to the size cap (${size(call.bytes)} in all)` : ""}
              {call.reused ? ", reused from an earlier attempt" : ""}
            </p>
            <pre className="raw">{call.result}</pre>
          </>
        )}
      </div>
    </details>
  );
}

export function ToolCallList({ calls }: { calls: ToolActivity[] }) {
  return (
    <div className="tool-calls" role="group" aria-label={calls.length === 1 ? "tool call" : `${calls.length} tool calls`}>
      {calls.map((c) => (
        <ToolCallRow key={c.id} call={c} />
      ))}
    </div>
  );
}

/**
 * An answer with its tool calls where the model made them: the text before
 * a round of calls, the calls, the text after. `text` is the output the
 * calls' offsets refer to.
 */
export function AnswerWithTools({ text, tools }: { text: string; tools: ToolActivity[] }) {
  if (tools.length === 0) return text ? <Markdown text={text} /> : null;
  const parts: ReactNode[] = [];
  let pos = 0;
  let i = 0;
  while (i < tools.length) {
    const at = Math.min(Math.max(tools[i]!.at, pos), text.length);
    if (at > pos) parts.push(<Markdown key={`text-${pos}`} text={text.slice(pos, at)} />);
    pos = at;
    const group: ToolActivity[] = [];
    while (i < tools.length && Math.min(tools[i]!.at, text.length) <= pos) group.push(tools[i++]!);
    parts.push(<ToolCallList key={`calls-${group[0]!.id}`} calls={group} />);
  }
  if (pos < text.length) parts.push(<Markdown key={`text-${pos}`} text={text.slice(pos)} />);
  return <>{parts}</>;
}
