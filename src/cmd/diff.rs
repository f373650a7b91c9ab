//! `ctl diff`: compare two jobs.

use std::io::IsTerminal;

use comfy_table::Table;
use comfy_table::presets::UTF8_BORDERS_ONLY;

use super::Context;
use crate::diff::JobDiff;

/// Compare two jobs: a unified diff of their outputs (coloured on a
/// terminal), then a table of what differs in model, parameters, skills and
/// usage.
///
/// Examples:
///   ctl diff 01JD4 01JD5
///   ctl diff 01JD4 01JD5 --json | jq .fields
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct DiffArgs {
    /// First job (id or unique prefix).
    pub a: String,
    /// Second job (id or unique prefix).
    pub b: String,
}

impl DiffArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let target = ctx.target()?;
        let a = target.job(&self.a).await?;
        let b = target.job(&self.b).await?;
        let d = crate::diff::diff(&a, &b);
        if ctx.json() {
            super::print_json(&d)?;
        } else {
            print!(
                "{}",
                render(&d, std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none())
            );
        }
        Ok(0)
    }
}

/// The human form: the unified diff, then the table of differing fields.
pub fn render(d: &JobDiff, color: bool) -> String {
    let mut out = String::new();
    if d.same_output {
        out.push_str("outputs are identical\n");
    } else {
        for line in d.unified.lines() {
            let painted = match line.as_bytes().first() {
                _ if !color => line.to_owned(),
                Some(b'+') if !line.starts_with("+++") => format!("\x1b[32m{line}\x1b[0m"),
                Some(b'-') if !line.starts_with("---") => format!("\x1b[31m{line}\x1b[0m"),
                Some(b'@') => format!("\x1b[36m{line}\x1b[0m"),
                _ => line.to_owned(),
            };
            out.push_str(&painted);
            out.push('\n');
        }
    }
    if d.fields.is_empty() {
        out.push_str("\nsame model, parameters, skills and usage\n");
    } else {
        let mut t = Table::new();
        t.load_style(UTF8_BORDERS_ONLY).set_header(["FIELD", &short(&d.a), &short(&d.b)]);
        for f in &d.fields {
            let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            t.add_row([f.field.clone(), cell(&f.a), cell(&f.b)]);
        }
        out.push('\n');
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

fn short(id: &str) -> String {
    id.chars().take(10).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::FieldDiff;

    /// The human form, pinned: a change here is a change users see.
    #[test]
    fn render_snapshot() {
        let d = JobDiff {
            a: "01JDQ7T3ZK4M8X2B6N0C5V9WAE".into(),
            b: "01JDQ7V0000000000000000000".into(),
            unified: "--- 01JDQ7T3ZK4M8X2B6N0C5V9WAE\n+++ 01JDQ7V0000000000000000000\n@@ -1,2 +1,2 @@\n same\n-old line\n+new line\n"
                .into(),
            same_output: false,
            fields: vec![
                FieldDiff { field: "model".into(), a: Some("local:tiny".into()), b: Some("ollama:qwen2.5:7b".into()) },
                FieldDiff { field: "params.seed".into(), a: None, b: Some("3".into()) },
            ],
        };
        let expected = "\
--- 01JDQ7T3ZK4M8X2B6N0C5V9WAE
+++ 01JDQ7V0000000000000000000
@@ -1,2 +1,2 @@
 same
-old line
+new line

┌──────────────────────────────────────────────┐
│ FIELD         01JDQ7T3ZK   01JDQ7V000        │
╞══════════════════════════════════════════════╡
│ model         local:tiny   ollama:qwen2.5:7b │
│ params.seed   -            3                 │
└──────────────────────────────────────────────┘
";
        assert_eq!(render(&d, false), expected);
        let colored = render(&d, true);
        assert!(colored.contains("\x1b[31m-old line\x1b[0m") && colored.contains("\x1b[32m+new line\x1b[0m"));
        assert!(colored.contains("--- 01JDQ7T3ZK4M8X2B6N0C5V9WAE\n"), "headers stay plain");
    }

    #[test]
    fn identical_outputs_say_so() {
        let d = JobDiff {
            a: "a".into(),
            b: "b".into(),
            unified: String::new(),
            same_output: true,
            fields: vec![],
        };
        assert_eq!(render(&d, false), "outputs are identical\n\nsame model, parameters, skills and usage\n");
    }
}
