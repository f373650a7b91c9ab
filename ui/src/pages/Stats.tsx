// Jobs and tokens by model and by day, with a chart.
import { useMemo, useState } from "react";
import { api, ok, type StatRow } from "../api/client";
import { useLoad } from "../lib/data";
import { num } from "../lib/format";

interface Day {
  day: string;
  jobs: number;
  prompt: number;
  completion: number;
}

export function Stats() {
  const [days, setDays] = useState(30);
  const stats = useLoad(
    (signal) => ok(api.GET("/api/v1/stats", { params: { query: days ? { days } : {} }, signal })),
    [days],
  );
  const rows = useMemo(() => stats.data?.rows ?? [], [stats.data]);
  const byDay = useMemo(() => group(rows, (r) => r.day).sort((a, b) => a.key.localeCompare(b.key)), [rows]);
  const byModel = useMemo(() => group(rows, (r) => r.model).sort((a, b) => b.jobs - a.jobs), [rows]);
  const [metric, setMetric] = useState<"tokens" | "jobs">("tokens");

  return (
    <div className="page stats">
      <header className="page-head">
        <h1>stats</h1>
        <label>
          period
          <select aria-label="period" value={days} onChange={(e) => setDays(Number(e.target.value))}>
            <option value={7}>last 7 days</option>
            <option value={30}>last 30 days</option>
            <option value={90}>last 90 days</option>
            <option value={0}>all time</option>
          </select>
        </label>
        <div role="group" aria-label="chart metric">
          <button type="button" className="ghost small" aria-pressed={metric === "tokens"} onClick={() => setMetric("tokens")}>tokens</button>
          <button type="button" className="ghost small" aria-pressed={metric === "jobs"} onClick={() => setMetric("jobs")}>jobs</button>
        </div>
      </header>
      {stats.error && <p className="error" role="alert">{stats.error}</p>}
      {!stats.loading && rows.length === 0 && <p className="dim">No finished jobs in this period.</p>}
      {byDay.length > 0 && (
        <section className="card" aria-label={`${metric} by day`}>
          <h2>{metric} by day</h2>
          <Chart days={byDay.map((g) => ({ day: g.key, jobs: g.jobs, prompt: g.prompt, completion: g.completion }))} metric={metric} />
        </section>
      )}
      {byModel.length > 0 && (
        <section className="card" aria-label="by model">
          <h2>by model</h2>
          <table className="table stack" data-testid="stats-by-model">
            <thead>
              <tr><th>model</th><th>jobs</th><th>failed</th><th>cancelled</th><th>prompt tokens</th><th>completion tokens</th></tr>
            </thead>
            <tbody>
              {byModel.map((g) => (
                <tr key={g.key}>
                  <td data-label="model">{g.key}</td><td data-label="jobs">{num(g.jobs)}</td>
                  <td data-label="failed">{num(g.failed)}</td><td data-label="cancelled">{num(g.cancelled)}</td>
                  <td data-label="prompt tokens">{num(g.prompt)}</td><td data-label="completion tokens">{num(g.completion)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      {rows.length > 0 && (
        <section className="card" aria-label="by model and day">
          <h2>by model and day</h2>
          <table className="table compact stack">
            <thead>
              <tr><th>day</th><th>model</th><th>jobs</th><th>prompt</th><th>completion</th><th>median first token</th><th>median tokens/s</th></tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.day}-${r.model}`}>
                  <td data-label="day">{r.day}</td><td data-label="model">{r.model}</td><td data-label="jobs">{num(r.jobs)}</td>
                  <td data-label="prompt">{num(r.prompt_tokens)}</td><td data-label="completion">{num(r.completion_tokens)}</td>
                  <td data-label="median first token">{r.median_ttft_ms == null ? "–" : `${num(r.median_ttft_ms, 1)} ms`}</td>
                  <td data-label="median tokens/s">{num(r.median_tokens_per_s, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}

function group(rows: StatRow[], key: (r: StatRow) => string) {
  const m = new Map<string, { key: string; jobs: number; failed: number; cancelled: number; prompt: number; completion: number }>();
  for (const r of rows) {
    const k = key(r);
    const g = m.get(k) ?? { key: k, jobs: 0, failed: 0, cancelled: 0, prompt: 0, completion: 0 };
    g.jobs += r.jobs;
    g.failed += r.failed;
    g.cancelled += r.cancelled;
    g.prompt += r.prompt_tokens;
    g.completion += r.completion_tokens;
    m.set(k, g);
  }
  return [...m.values()];
}

/** A bar per day: prompt and completion tokens stacked, or jobs. */
export function Chart({ days, metric }: { days: Day[]; metric: "tokens" | "jobs" }) {
  const W = 720;
  const H = 220;
  const pad = { l: 56, r: 8, t: 8, b: 36 };
  const value = (d: Day) => (metric === "jobs" ? d.jobs : d.prompt + d.completion);
  const max = Math.max(1, ...days.map(value));
  const bw = (W - pad.l - pad.r) / days.length;
  const y = (v: number) => pad.t + (H - pad.t - pad.b) * (1 - v / max);
  const ticks = [0, 0.5, 1].map((f) => Math.round(max * f));
  const labelEvery = Math.ceil(days.length / 10);
  return (
    <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${metric} per day, ${days.length} days, peak ${num(max)}`}>
      {ticks.map((t) => (
        <g key={t}>
          <line x1={pad.l} x2={W - pad.r} y1={y(t)} y2={y(t)} className="grid" />
          <text x={pad.l - 6} y={y(t) + 4} textAnchor="end" className="axis">{num(t)}</text>
        </g>
      ))}
      {days.map((d, i) => {
        const w = Math.max(1, Math.min(bw * 0.7, 36));
        const x = pad.l + i * bw + (bw - w) / 2;
        const total = value(d);
        const promptPart = metric === "tokens" ? d.prompt : 0;
        return (
          <g key={d.day}>
            <title>{`${d.day}: ${num(d.jobs)} jobs, ${num(d.prompt)} prompt + ${num(d.completion)} completion tokens`}</title>
            <rect x={x} width={w} y={y(total)} height={y(0) - y(total)} className="bar" />
            {promptPart > 0 && <rect x={x} width={w} y={y(promptPart)} height={y(0) - y(promptPart)} className="bar prompt" />}
            {i % labelEvery === 0 && (
              <text x={x + w / 2} y={H - pad.b + 16} textAnchor="middle" className="axis">{d.day.slice(5)}</text>
            )}
          </g>
        );
      })}
      {metric === "tokens" && (
        <g className="legend">
          <rect x={pad.l} y={H - 12} width={10} height={10} className="bar prompt" />
          <text x={pad.l + 14} y={H - 3} className="axis">prompt</text>
          <rect x={pad.l + 80} y={H - 12} width={10} height={10} className="bar" />
          <text x={pad.l + 94} y={H - 3} className="axis">completion</text>
        </g>
      )}
    </svg>
  );
}
