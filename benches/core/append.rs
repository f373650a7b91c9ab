//! Appending tokens to one job's event log with `EventWriter::append`
//! (what the worker does per token) against raw `write`s of the same bytes.

use std::io::{BufRead, Write as _};
use std::time::Instant;

use ctl::api::EventBody;
use ctl::events::EventWriter;
use serde_json::json;

use crate::report::{Report, Row, Target, num};
use crate::upstream::TOKEN;
use crate::util::{median, scratch};

fn ctl_round(path: &std::path::Path, n: usize) -> f64 {
    let mut w = EventWriter::open(path).unwrap();
    let t0 = Instant::now();
    for _ in 0..n {
        w.append(EventBody::Token { text: TOKEN.to_owned() }).unwrap();
    }
    n as f64 / t0.elapsed().as_secs_f64()
}

/// One `write` per line, like the writer, of the lines ctl wrote.
fn raw_round(lines: &[Vec<u8>], path: &std::path::Path) -> f64 {
    let mut f = std::fs::File::options().create(true).append(true).open(path).unwrap();
    let t0 = Instant::now();
    for line in lines {
        f.write_all(line).unwrap();
    }
    lines.len() as f64 / t0.elapsed().as_secs_f64()
}

pub fn bench(report: &mut Report, rounds: usize, n: usize) {
    let dir = scratch();
    // The baseline writes the bytes of a warm-up ctl log: the same lines.
    let template = dir.path().join("template.ndjson");
    ctl_round(&template, n);
    let lines: Vec<Vec<u8>> = std::io::BufReader::new(std::fs::File::open(&template).unwrap())
        .split(b'\n')
        .map(|l| {
            let mut l = l.unwrap();
            l.push(b'\n');
            l
        })
        .collect();
    let (mut ours, mut raw, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (log, copy) =
            (dir.path().join(format!("ctl-{r}.ndjson")), dir.path().join(format!("raw-{r}.ndjson")));
        let (c, b) = if r % 2 == 0 {
            let c = ctl_round(&log, n);
            (c, raw_round(&lines, &copy))
        } else {
            let b = raw_round(&lines, &copy);
            (ctl_round(&log, n), b)
        };
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(&copy);
        ours.push(c);
        raw.push(b);
        ratios.push(c / b);
    }
    let rate = median(&ours);
    report.metric("append_tokens_per_s", rate, Target::AtLeast(100_000.0));
    report.row(Row {
        key: Some("append_tokens_per_s"),
        what: format!(
            "token events appended to one job's log with `EventWriter::append` ({} per round)",
            num(n as f64)
        ),
        ctl: format!("{} tokens/s", num(rate)),
        baseline: format!("{} lines/s (one raw `write` per line, same bytes)", num(median(&raw))),
        notes: format!("ratio {:.2} (median of {rounds} rounds)", median(&ratios)),
    });
    report.detail(
        "append",
        json!({ "tokens_per_round": n, "ctl_per_s": ours, "raw_write_per_s": raw, "ratios": ratios }),
    );
}
