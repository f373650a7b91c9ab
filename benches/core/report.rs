//! The results: the keys of `summary.json` with their targets, the rows of
//! the BENCHMARKS.md table, and the machine they were measured on.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Map, Value, json};

/// What a key must reach.
#[derive(Clone, Copy)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
}

impl Target {
    fn met(self, v: f64) -> bool {
        match self {
            Self::AtLeast(t) => v >= t,
            Self::AtMost(t) => v <= t,
        }
    }

    fn text(self) -> String {
        match self {
            Self::AtLeast(t) => format!("≥ {}", plain(t)),
            Self::AtMost(t) => format!("≤ {}", plain(t)),
        }
    }
}

/// A target as written in the issue: `0.7`, `5`, `100,000`.
fn plain(t: f64) -> String {
    if t >= 1000.0 { num(t) } else { format!("{t}") }
}

/// A number with as many decimals as its size deserves.
pub fn num(v: f64) -> String {
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{v:.0}");
        // Thousands separators for big rates.
        let (sign, digits) = s.strip_prefix('-').map_or(("", s.as_str()), |d| ("-", d));
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        format!("{sign}{out}")
    } else if a >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.1 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

struct Metric {
    key: &'static str,
    value: f64,
    target: Target,
}

/// One line of the markdown table.
pub struct Row {
    /// The summary key this row measures, if it has one.
    pub key: Option<&'static str>,
    pub what: String,
    pub ctl: String,
    pub baseline: String,
    pub notes: String,
}

#[derive(Default)]
pub struct Report {
    metrics: Vec<Metric>,
    rows: Vec<Row>,
    details: Map<String, Value>,
}

impl Report {
    /// Records a summary key.
    pub fn metric(&mut self, key: &'static str, value: f64, target: Target) {
        eprintln!("  {key} = {} (target {})", num(value), target.text());
        self.metrics.push(Metric { key, value, target });
    }

    pub fn row(&mut self, row: Row) {
        self.rows.push(row);
    }

    /// Everything behind a row (samples, per-round figures) for summary.json.
    pub fn detail(&mut self, name: &str, value: Value) {
        self.details.insert(name.to_owned(), value);
    }

    fn target_cell(&self, key: Option<&str>) -> (String, String) {
        let Some(m) = key.and_then(|k| self.metrics.iter().find(|m| m.key == k)) else {
            return (String::new(), String::new());
        };
        let verdict = if m.target.met(m.value) { "met" } else { "**missed**" };
        (m.target.text(), verdict.to_owned())
    }

    /// Writes `summary.json` and `results.md` (the BENCHMARKS.md section) into `out`.
    pub fn write(&self, out: &Path, machine: &Machine, mode: &str, run_secs: f64) {
        std::fs::create_dir_all(out).unwrap();
        let date = jiff::Timestamp::now();
        let mut summary = Map::new();
        summary.insert("date".into(), json!(date.to_string()));
        summary.insert("mode".into(), json!(mode));
        summary.insert("run_secs".into(), json!(run_secs.round()));
        summary.insert("machine".into(), machine.json());
        let mut targets = Map::new();
        for m in &self.metrics {
            summary.insert(m.key.into(), json!(m.value));
            targets.insert(
                m.key.into(),
                json!({ "target": m.target.text(), "value": m.value, "met": m.target.met(m.value) }),
            );
        }
        summary.insert("targets".into(), Value::Object(targets));
        summary.insert("details".into(), Value::Object(self.details.clone()));
        let text = serde_json::to_string_pretty(&Value::Object(summary)).unwrap();
        std::fs::write(out.join("summary.json"), text + "\n").unwrap();

        let mut md = String::new();
        let _ = writeln!(
            md,
            "## {} — {} run\n\n{}, {} cores, {} memory; data directory on {}; Linux {}; release build.\n",
            date.strftime("%Y-%m-%d %H:%M UTC"),
            mode,
            machine.cpu,
            machine.cores,
            machine.memory,
            machine.filesystem,
            machine.kernel
        );
        md.push_str(
            "| benchmark | ctl | same-run baseline | target | | notes |\n|---|---|---|---|---|---|\n",
        );
        for r in &self.rows {
            let (target, verdict) = self.target_cell(r.key);
            let what = match r.key {
                Some(k) => format!("`{k}`: {}", r.what),
                None => r.what.clone(),
            };
            let _ =
                writeln!(md, "| {what} | {} | {} | {target} | {verdict} | {} |", r.ctl, r.baseline, r.notes);
        }
        let missed: Vec<&str> =
            self.metrics.iter().filter(|m| !m.target.met(m.value)).map(|m| m.key).collect();
        let _ = writeln!(
            md,
            "\n{} of {} targets met{}. The whole run took {:.0} s (after the release build).",
            self.metrics.len() - missed.len(),
            self.metrics.len(),
            if missed.is_empty() { String::new() } else { format!("; missed: {}", missed.join(", ")) },
            run_secs
        );
        std::fs::write(out.join("results.md"), md).unwrap();
    }
}

/// The machine, as `bench/run` describes it (`CTL_BENCH_MACHINE_*`), or as
/// /proc does when the binary runs on its own.
pub struct Machine {
    pub cpu: String,
    pub cores: String,
    pub memory: String,
    pub filesystem: String,
    pub kernel: String,
}

impl Machine {
    pub fn detect() -> Self {
        let var = |k: &str| std::env::var(format!("CTL_BENCH_MACHINE_{k}")).ok().filter(|v| !v.is_empty());
        let proc = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        let cpu = var("CPU").unwrap_or_else(|| {
            proc("/proc/cpuinfo")
                .lines()
                .find_map(|l| {
                    l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
                })
                .unwrap_or_else(|| "unknown CPU".into())
        });
        let cores = var("CORES").unwrap_or_else(|| {
            std::thread::available_parallelism().map_or_else(|_| "?".into(), |n| n.to_string())
        });
        let memory = var("MEMORY").unwrap_or_else(|| {
            let kb: f64 = proc("/proc/meminfo")
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0.0);
            format!("{:.0} GiB", kb / 1024.0 / 1024.0)
        });
        let filesystem = var("FS").unwrap_or_else(|| "unknown filesystem".into());
        let kernel = var("KERNEL").unwrap_or_else(|| proc("/proc/sys/kernel/osrelease").trim().to_owned());
        Self { cpu, cores, memory, filesystem, kernel }
    }

    fn json(&self) -> Value {
        json!({
            "cpu": self.cpu, "cores": self.cores, "memory": self.memory,
            "filesystem": self.filesystem, "kernel": self.kernel,
        })
    }
}
