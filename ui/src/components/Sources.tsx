// The sources retrieval gave an answer, numbered as the prompt numbered
// them (the model cites them as [1], [2]). Each opens its note at its
// heading in the read-only note view.
import type { RetrievedSource } from "../api/client";
import { link } from "../lib/router";

/** `path#heading:3-9`, the way `ctl rag query` prints a source. */
export function sourceLabel(s: RetrievedSource): string {
  const heading = s.heading ? `#${s.heading.split(" > ").pop()}` : "";
  return `${s.path}${heading}:${s.line_start}-${s.line_end}`;
}

/** The in-app address of a source's note, opened at its heading. */
export function noteHref(s: Pick<RetrievedSource, "path" | "heading" | "line_start" | "line_end">, vault?: string | null): string {
  const q = new URLSearchParams();
  if (vault) q.set("vault", vault);
  if (s.heading) q.set("heading", s.heading);
  q.set("lines", `${s.line_start}-${s.line_end}`);
  return `/note/${s.path.split("/").map(encodeURIComponent).join("/")}?${q.toString()}`;
}

/** A fused score: small numbers (reciprocal ranks), three significant digits. */
export function score(x: number | null | undefined): string {
  return x == null ? "–" : x.toPrecision(3);
}

function scoresTitle(s: RetrievedSource): string {
  const parts = [`fused ${score(s.score)}`];
  if (s.lexical != null) parts.push(`lexical ${score(s.lexical)}`);
  if (s.vector != null) parts.push(`vector ${score(s.vector)}`);
  if (s.graph != null) parts.push(`graph ${score(s.graph)}`);
  if (s.rerank != null) parts.push(`rerank ${score(s.rerank)}`);
  return `${parts.join(" · ")}\nchunk ${s.hash.slice(0, 12)}`;
}

export function SourceList({
  sources,
  vault,
  reused,
  label = "sources",
}: {
  sources: RetrievedSource[];
  vault?: string | null;
  reused?: boolean;
  label?: string;
}) {
  if (sources.length === 0) return null;
  return (
    <div className="sources" data-testid="sources">
      <p className="dim small sources-head">
        {sources.length} source{sources.length === 1 ? "" : "s"}
        {vault ? ` from ${vault}` : ""}
        {reused ? " (reused)" : ""}
      </p>
      <ol aria-label={label}>
        {sources.map((s) => {
          const to = noteHref(s, vault);
          return (
            <li key={`${s.n}-${s.hash}`} data-n={s.n}>
              <a className="touch source-link" href={to} onClick={link(to)} title={scoresTitle(s)}>
                <span className="source-n">[{s.n}]</span>
                <span className="source-where">{sourceLabel(s)}</span>
              </a>
              <span className="dim small source-score" aria-label={`score ${score(s.score)}`}>
                {score(s.score)}
              </span>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
