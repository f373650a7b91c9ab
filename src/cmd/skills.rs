//! `ctl skills`: list, show, create and validate Agent Skills.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use serde::Serialize;

use super::Context;
use crate::skills::{self, Catalog, Skill, SkillError, SkillSource};

/// User-authored Agent Skills: folders with a SKILL.md of instructions.
///
/// Skills are searched in the directories of CTL_SKILLS_PATH (colon-separated)
/// or the config's skills.paths (default: $XDG_CONFIG_HOME/ctl/skills), then
/// among the built-in skills; the first skill found under a name wins.
///
/// Examples:
///   ctl skills list
///   ctl skills show research
///   ctl skills new release-notes
///   ctl skills validate ~/.config/ctl/skills/release-notes
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub struct SkillsArgs {
    #[command(subcommand)]
    command: SkillsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SkillsCommand {
    List(ListArgs),
    Show(ShowArgs),
    New(NewArgs),
    Validate(ValidateArgs),
}

/// List every usable skill: the user's and the built-ins.
///
/// Broken skills are left out and reported as warnings on stderr.
///
/// Examples:
///   ctl skills list
///   ctl skills list --json | jq -r '.[].name'
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ListArgs {}

/// Print a skill's SKILL.md.
///
/// Examples:
///   ctl skills show summarize
///   ctl skills show code-review --json | jq .metadata
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ShowArgs {
    /// The skill's name.
    name: String,
}

/// Create a skill folder with a SKILL.md template to edit. Prints its path.
///
/// Examples:
///   ctl skills new release-notes
///   ctl skills new triage --dir ./team-skills
///   $EDITOR "$(ctl skills new triage)"
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct NewArgs {
    /// The skill's name: lowercase letters, digits and hyphens, at most 64.
    name: String,
    /// The skills directory to create it in (default: the first one searched).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// Check skills against the Agent Skills specification and ctl's limits.
///
/// Prints `ok PATH` for each valid skill, and each problem as
/// `error: FILE:LINE: message` or `warning: FILE:LINE: message`.
/// Exits with 1 when any skill has an error.
///
/// Examples:
///   ctl skills validate                      # every user skills directory
///   ctl skills validate ./release-notes      # one skill folder
///   ctl skills validate ./release-notes/SKILL.md
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
struct ValidateArgs {
    /// A skill folder, a SKILL.md, or a directory of skill folders
    /// (default: every user skills directory).
    path: Option<PathBuf>,
}

impl SkillsArgs {
    pub async fn run(self, ctx: &Context) -> anyhow::Result<i32> {
        let dirs = skills::search_path(&ctx.config()?);
        match self.command {
            SkillsCommand::List(_) => list(ctx, dirs).await,
            SkillsCommand::Show(a) => show(ctx, dirs, a).await,
            SkillsCommand::New(a) => new(dirs, a).await,
            SkillsCommand::Validate(a) => validate(ctx, dirs, a).await,
        }
    }
}

/// Loads the catalog off the runtime; the problems that `relevant` picks go
/// to stderr as warnings.
async fn load(dirs: Vec<PathBuf>, relevant: impl Fn(&SkillError) -> bool) -> anyhow::Result<Catalog> {
    let (catalog, errors) = super::blocking(move || Ok(Catalog::load(&dirs))).await?;
    for e in errors.iter().filter(|e| relevant(e)) {
        eprintln!("warning: {e}");
    }
    Ok(catalog)
}

/// Whether a problem is about the skill folder `name` (its location is
/// `.../name/SKILL.md[:line]` or `.../name`).
fn about(e: &SkillError, name: &str) -> bool {
    let file = match e.location.rsplit_once(':') {
        Some((file, line)) if line.parse::<usize>().is_ok() => file,
        _ => e.location.as_str(),
    };
    std::path::Path::new(file).components().any(|c| c.as_os_str() == name)
}

/// A skill in `list --json`: everything but the text.
#[derive(Serialize)]
struct Listed<'a> {
    name: &'a str,
    description: &'a str,
    source: &'a SkillSource,
    path: &'a str,
    sha256: &'a str,
    license: Option<&'a str>,
    compatibility: Option<&'a str>,
    metadata: &'a std::collections::BTreeMap<String, String>,
    allowed_tools: &'a [String],
}

impl<'a> From<&'a Skill> for Listed<'a> {
    fn from(s: &'a Skill) -> Self {
        Self {
            name: &s.name,
            description: &s.description,
            source: &s.source,
            path: &s.path,
            sha256: &s.sha256,
            license: s.license.as_deref(),
            compatibility: s.compatibility.as_deref(),
            metadata: &s.metadata,
            allowed_tools: &s.allowed_tools,
        }
    }
}

async fn list(ctx: &Context, dirs: Vec<PathBuf>) -> anyhow::Result<i32> {
    let catalog = load(dirs, |_| true).await?;
    let skills = catalog.list();
    if ctx.json() {
        let listed: Vec<Listed<'_>> = skills.into_iter().map(Listed::from).collect();
        super::print_json(&listed)?;
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_style(UTF8_BORDERS_ONLY).set_content_arrangement(ContentArrangement::Dynamic).set_header([
        "NAME",
        "SOURCE",
        "DESCRIPTION",
        "SHA256",
    ]);
    for s in skills {
        let source = match s.source {
            SkillSource::User => "user",
            SkillSource::Builtin => "builtin",
        };
        t.add_row([
            s.name.clone(),
            source.to_owned(),
            super::jobs::preview(&s.description, 60),
            s.sha256.chars().take(12).collect(),
        ]);
    }
    println!("{t}");
    Ok(0)
}

async fn show(ctx: &Context, dirs: Vec<PathBuf>, args: ShowArgs) -> anyhow::Result<i32> {
    // Only the problems with this skill: a broken user skill may be why a
    // built-in of the same name shows, or why none does.
    let catalog = load(dirs, |e| about(e, &args.name)).await?;
    let Some(skill) = catalog.get(&args.name) else {
        bail!("no skill named {:?}; `ctl skills list` shows them all", args.name);
    };
    if ctx.json() {
        super::print_json(skill)?;
    } else if skill.text.ends_with('\n') {
        print!("{}", skill.text);
    } else {
        println!("{}", skill.text);
    }
    Ok(0)
}

async fn new(dirs: Vec<PathBuf>, args: NewArgs) -> anyhow::Result<i32> {
    let Some(dir) = args.dir.or_else(|| dirs.into_iter().next()) else {
        bail!("no skills directory: pass --dir, set CTL_SKILLS_PATH, or set HOME");
    };
    let name = args.name;
    let path = super::blocking(move || Ok(skills::scaffold(&dir, &name)?)).await?;
    println!("{}", path.display());
    Ok(0)
}

async fn validate(ctx: &Context, dirs: Vec<PathBuf>, args: ValidateArgs) -> anyhow::Result<i32> {
    let targets = if let Some(path) = args.path {
        vec![path]
    } else {
        let existing: Vec<PathBuf> = dirs.iter().filter(|d| d.exists()).cloned().collect();
        if existing.is_empty() {
            let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            eprintln!("no user skills directory exists (searched: {})", searched.join(", "));
        }
        existing
    };
    let reports: Vec<skills::Report> =
        super::blocking(move || Ok(targets.iter().flat_map(|t| skills::check_path(t)).collect()))
            .await
            .context("cannot validate skills")?;
    let failed = reports.iter().any(|r| !r.ok());
    if ctx.json() {
        super::print_json(&reports)?;
    } else {
        for r in &reports {
            for e in &r.errors {
                println!("error: {e}");
            }
            for w in &r.warnings {
                println!("warning: {w}");
            }
            if r.ok() {
                println!("ok {}", r.path);
            }
        }
    }
    Ok(i32::from(failed))
}
