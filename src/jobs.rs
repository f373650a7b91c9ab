//! Jobs as a whole, on a local data directory: submit, find by prefix,
//! view, list, cancel and retry. This is what the CLI (and later the API)
//! calls; it joins the queue, the event logs and the store into one picture.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use crate::api::{EventBody, Job, JobSpec, JobState, JobView, Message, ReplaySpec, Role, SkillSnapshot};
use crate::backend::{EventLog, JobQueue, Records};
use crate::config::Config;
use crate::events::{EventError, Summary};
use crate::home::{Home, HomeError};
use crate::queue::{self, Dir, QueueError};
use crate::skills::Catalog;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Home(#[from] HomeError),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Events(#[from] EventError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("no job matches {0:?}")]
    NotFound(String),
    #[error("{prefix:?} matches several jobs: {}; give more characters", candidates.join(", "))]
    Ambiguous { prefix: String, candidates: Vec<String> },
    #[error("job {id} is {state}; {action}")]
    WrongState { id: String, state: JobState, action: &'static str },
}

/// A data directory (and the backend it is configured with) opened for
/// job operations.
#[derive(Debug, Clone)]
pub struct Local {
    pub home: Home,
    pub queue: Arc<dyn JobQueue>,
    pub events: Arc<dyn EventLog>,
    pub store: Arc<dyn Records>,
    pub config: Config,
}

/// What [`Local::cancel`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The job was waiting and is now cancelled.
    Cancelled,
    /// The job is running; its worker was asked to stop it.
    Requested,
}

impl Local {
    pub fn open(root: PathBuf, config: Config) -> Result<Self, JobError> {
        let home = Home::open(root)?;
        let backend = match config.backend.kind {
            crate::config::BackendKind::Fs => crate::backend::fs::open(&home)?,
            crate::config::BackendKind::Postgres => {
                let settings = crate::backend::pg::PgSettings::from_config(&config)
                    .map_err(|e| JobError::Invalid(e.to_string()))?;
                crate::backend::pg::open(&settings).map_err(|e| JobError::Invalid(e.to_string()))?
            }
        };
        Ok(Self::with_backend(home, backend, config))
    }

    /// A data directory with the parts of an opened backend.
    pub fn with_backend(home: Home, backend: crate::backend::Backend, config: Config) -> Self {
        Self { home, queue: backend.queue, events: backend.events, store: backend.records, config }
    }

    /// Turns a spec into a job file and publishes it. Skills are looked up
    /// on the search path (see [`crate::skills`]).
    pub fn submit(&self, spec: JobSpec) -> Result<Job, JobError> {
        if spec.skills.is_empty() {
            return self.submit_with(spec, &Catalog::default());
        }
        let (catalog, _) = Catalog::load(&crate::skills::search_path(&self.config));
        self.submit_with(spec, &catalog)
    }

    /// [`Local::submit`] with the skills of `catalog` (a server passes its
    /// live-reloaded one).
    pub fn submit_with(&self, spec: JobSpec, catalog: &Catalog) -> Result<Job, JobError> {
        let job = self.build_job(spec, catalog)?;
        self.publish(job)
    }

    /// The names of the tools this installation has enabled.
    fn enabled_tools(&self) -> Vec<String> {
        match crate::rag::tool::toolbox(&self.config, self.home.root()) {
            Ok(toolbox) => {
                let builtin = toolbox.list().into_iter().map(|t| t.name);
                builtin.chain(toolbox.servers().names().map(|s| format!("{s}.*"))).collect()
            }
            Err(e) => {
                tracing::warn!("no tools: {e}");
                Vec::new()
            }
        }
    }

    /// Publishes a built job: one durable write of its file into `_queue`.
    /// The event log is not created here; the job's first owner creates it
    /// with the job's implied `queued` event, and until then readers show
    /// that event (see [`crate::events`]).
    pub fn publish(&self, job: Job) -> Result<Job, JobError> {
        self.queue.publish(&job)?;
        Ok(job)
    }

    /// Turns a spec into a job (skills snapshotted, model resolved, tools
    /// chosen) without publishing it.
    pub fn build_job(&self, mut spec: JobSpec, catalog: &Catalog) -> Result<Job, JobError> {
        let mut skills = Vec::new();
        // What the skills' `allowed-tools` grant, and which skills declare one.
        let mut bound: Option<(BTreeSet<String>, Vec<String>)> = None;
        for name in &spec.skills {
            let skill = catalog.get(name).ok_or_else(|| {
                JobError::Invalid(format!("no skill named {name:?} (see `ctl skills list`)"))
            })?;
            if skills.iter().any(|s: &SkillSnapshot| s.name == skill.name) {
                continue;
            }
            // A skill's metadata holds its defaults; what the job sets wins.
            for (key, value) in &skill.metadata {
                match key.as_str() {
                    "model" => {
                        spec.model.get_or_insert_with(|| value.clone());
                    }
                    "temperature" | "top_p" | "top_k" | "max_tokens" | "seed" => {
                        let v = serde_json::from_str(value)
                            .unwrap_or_else(|_| serde_json::Value::String(value.clone()));
                        spec.params.entry(key.clone()).or_insert(v);
                    }
                    "allow_egress_after_private" => {
                        spec.allow_egress_after_private |= value.trim() == "true";
                    }
                    // `rag: augment | context-only`: the skill answers from the vault.
                    "rag" => {
                        let mode = match value.trim() {
                            "augment" => crate::api::RagMode::Augment,
                            "context-only" => crate::api::RagMode::ContextOnly,
                            "off" | "" => continue,
                            other => {
                                return Err(JobError::Invalid(format!(
                                    "skill {}: metadata rag is {other:?}; use augment or context-only",
                                    skill.name
                                )));
                            }
                        };
                        spec.rag.get_or_insert_with(|| crate::api::RagRequest { mode, ..Default::default() });
                    }
                    _ => {}
                }
            }
            if !skill.allowed_tools.is_empty() {
                let (granted, declared) = bound.get_or_insert_with(Default::default);
                granted.extend(crate::skills::granted_tools(&skill.allowed_tools));
                declared.push(skill.name.clone());
            }
            skills.push(SkillSnapshot {
                name: skill.name.clone(),
                sha256: skill.sha256.clone(),
                source: skill.path.clone(),
                text: skill.text.clone(),
            });
        }
        let (provider, model) =
            self.config.resolve_model(spec.model.as_deref()).map_err(JobError::Invalid)?;
        let mut messages = Vec::new();
        if let Some(system) = spec.system.filter(|s| !s.trim().is_empty()) {
            messages.push(Message::new(Role::System, system));
        }
        match (spec.prompt, spec.messages) {
            (Some(_), Some(_)) => {
                return Err(JobError::Invalid("give either a prompt or messages, not both".into()));
            }
            (Some(p), None) => {
                if p.trim().is_empty() {
                    return Err(JobError::Invalid("the prompt is empty".into()));
                }
                messages.push(Message::new(Role::User, p));
            }
            (None, Some(m)) => {
                if m.is_empty() {
                    return Err(JobError::Invalid("messages is empty".into()));
                }
                messages.extend(m);
            }
            (None, None) => {
                return Err(JobError::Invalid("a job needs a prompt or messages".into()));
            }
        }
        let wants_tools =
            !spec.tools.is_empty() || bound.is_some() || !self.config.worker.default_tools.is_empty();
        let tools = if wants_tools {
            resolve_tools(
                &spec.tools,
                bound.as_ref().map(|(g, d)| (g, d.as_slice())),
                &self.config.worker.default_tools,
                &self.enabled_tools(),
            )
            .map_err(JobError::Invalid)?
        } else {
            Vec::new()
        };
        if let Some(choice) = &spec.tool_choice {
            check_tool_choice(choice, &tools).map_err(JobError::Invalid)?;
        }
        let rag = match spec.rag {
            Some(r) => Some(self.job_rag(r, &messages)?),
            None => None,
        };
        let (id, created_at) = queue::new_job_id();
        Ok(Job {
            v: crate::api::JOB_SCHEMA_VERSION,
            id,
            created_at,
            model: format!("{provider}:{model}"),
            messages,
            params: spec.params,
            priority: spec.priority,
            max_attempts: self.config.worker.max_attempts,
            // The trace of the request (or `ctl submit`) that made the job;
            // the worker continues it.
            traceparent: crate::telemetry::current_traceparent(),
            session_id: spec.session_id,
            parent_id: None,
            skills,
            tools,
            tool_choice: spec.tool_choice,
            allow_egress_after_private: spec.allow_egress_after_private,
            tool_results_from: None,
            client_tools: Vec::new(),
            client: None,
            rag,
        })
    }

    /// Retrieval for a new job: the vault resolved, the query defaulted to
    /// the last user message.
    fn job_rag(
        &self,
        r: crate::api::RagRequest,
        messages: &[Message],
    ) -> Result<crate::api::JobRag, JobError> {
        let (vault, _) = crate::rag::pick_vault(&self.config, r.vault.as_deref())
            .map_err(|e| JobError::Invalid(e.to_string()))?;
        let query = r
            .query
            .filter(|q| !q.trim().is_empty())
            .or_else(|| messages.iter().rev().find(|m| m.role == Role::User).map(|m| m.content.clone()))
            .ok_or_else(|| JobError::Invalid("retrieval needs a query or a user message".into()))?;
        Ok(crate::api::JobRag { vault, mode: r.mode, query, k: r.k.unwrap_or(5).clamp(1, 50), sources: None })
    }

    /// Submits a sibling of `id`: the same messages and the same skill
    /// snapshots (not the skills' current files), with `model` and `params`
    /// overriding the original's, and `parent_id` set to `id`.
    pub fn replay(&self, id: &str, spec: ReplaySpec) -> Result<Job, JobError> {
        let dir = self.queue.locate(id).ok_or_else(|| JobError::NotFound(id.to_owned()))?;
        let original = self.queue.read(dir, id).map_err(|e| read_error(id, e))?;
        let model = match spec.model.as_deref() {
            Some(m) => {
                let (provider, name) = self.config.resolve_model(Some(m)).map_err(JobError::Invalid)?;
                format!("{provider}:{name}")
            }
            None => original.model.clone(),
        };
        let mut merged = original.params.clone();
        merged.extend(spec.params);
        let tool_results_from = spec.reuse_tool_results.then(|| original.id.clone());
        // The original's sources, snapshotted so the replay answers from the
        // same text, unless asked to search again.
        let mut rag = original.rag.clone();
        if let Some(r) = rag.as_mut() {
            r.sources = if spec.fresh_retrieval {
                None
            } else {
                r.sources.clone().or_else(|| last_sources(self.events.as_ref(), &original.id))
            };
        }
        let (new_id, created_at) = queue::new_job_id();
        let job = Job {
            id: new_id,
            created_at,
            model,
            params: merged,
            parent_id: Some(original.id.clone()),
            // A replay is an experiment, not a turn of the conversation.
            session_id: None,
            traceparent: crate::telemetry::current_traceparent(),
            max_attempts: self.config.worker.max_attempts,
            tool_results_from,
            rag,
            ..original
        };
        self.publish(job)
    }

    /// The job's family: the first job of its replay chain and every replay
    /// of it (replays of replays too), oldest first.
    pub fn siblings(&self, id: &str) -> Result<Vec<JobView>, JobError> {
        let mut root = self.view(id)?;
        for _ in 0..1000 {
            let Some(parent) = root.parent_id.clone() else { break };
            match self.view(&parent) {
                Ok(p) => root = p,
                Err(JobError::NotFound(_)) => break,
                Err(e) => return Err(e),
            }
        }
        // Then down: finished replays from the store, live ones from the queue.
        let mut live = Vec::new();
        for dir in [Dir::Queued, Dir::Active] {
            for id in self.queue.list(dir)? {
                if let Ok(job) = self.queue.read(dir, &id) {
                    live.push(job);
                }
            }
        }
        let mut family = vec![root];
        let mut i = 0;
        while i < family.len() && family.len() < 10_000 {
            let parent = family[i].id.clone();
            let mut kids = self.store.children(&parent)?;
            for job in live.iter().filter(|j| j.parent_id.as_deref() == Some(parent.as_str())) {
                if let Ok(v) = self.view(&job.id) {
                    kids.push(v);
                }
            }
            for kid in kids {
                if !family.iter().any(|f| f.id == kid.id) {
                    family.push(kid);
                }
            }
            i += 1;
        }
        family.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(family)
    }

    /// Finds the one job whose id starts with `prefix` (case-insensitive).
    pub fn resolve(&self, prefix: &str) -> Result<String, JobError> {
        let prefix = prefix.trim().to_ascii_uppercase();
        if prefix.is_empty() || prefix.len() > 26 || !prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(JobError::Invalid(format!(
                "{prefix:?} is not a job id (26 letters and digits, or a prefix)"
            )));
        }
        let mut found = std::collections::BTreeSet::new();
        for dir in queue::JOB_DIRS {
            found.extend(self.queue.list(dir)?.into_iter().filter(|id| id.starts_with(&prefix)));
        }
        found.extend(self.store.ids_with_prefix(&prefix, 10)?);
        match found.len() {
            0 => Err(JobError::NotFound(prefix)),
            1 => Ok(found.into_iter().next().unwrap_or_default()),
            _ => Err(JobError::Ambiguous { prefix, candidates: found.into_iter().take(5).collect() }),
        }
    }

    /// Everything known about a job, from wherever it is now.
    pub fn view(&self, id: &str) -> Result<JobView, JobError> {
        match self.queue.locate(id) {
            Some(dir @ (Dir::Queued | Dir::Active)) => self.view_from_files(id, dir),
            Some(dir) => match self.store.get(id)? {
                Some(view) => Ok(self.with_sources(view)),
                None => self.view_from_files(id, dir),
            },
            None => {
                let view = self.store.get(id)?.ok_or_else(|| JobError::NotFound(id.to_owned()))?;
                Ok(self.with_sources(view))
            }
        }
    }

    /// A finished job's record with the sources its log holds (the record
    /// keeps none).
    fn with_sources(&self, mut view: JobView) -> JobView {
        if view.sources.is_empty() || view.vault.is_none() {
            let found = self.events.read_all(&view.id).ok().and_then(|events| {
                events.into_iter().rev().find_map(|e| match e.body {
                    EventBody::Retrieval { vault, sources, .. } => Some((vault, sources)),
                    _ => None,
                })
            });
            if let Some((vault, sources)) = found {
                if view.sources.is_empty() {
                    view.sources = sources;
                }
                view.vault.get_or_insert(vault);
            }
        }
        view
    }

    fn view_from_files(&self, id: &str, dir: Dir) -> Result<JobView, JobError> {
        let job = match self.queue.read(dir, id) {
            Ok(job) => job,
            // It moved on while we looked: look again, once.
            Err(queue::ReadError::Missing) => {
                return match self.queue.locate(id) {
                    Some(d) if d != dir => self.view_from_files(id, d),
                    _ => Err(JobError::NotFound(id.to_owned())),
                };
            }
            Err(e) => return Err(read_error(id, e)),
        };
        let summary = Summary::from_events(&self.events.read_all(id)?);
        let state = match dir {
            Dir::Queued => JobState::Queued,
            Dir::Active => JobState::Active,
            Dir::Completed => JobState::Completed,
            _ => summary.terminal.as_ref().and_then(EventBody::terminal_state).unwrap_or(JobState::Failed),
        };
        Ok(view_of(&job, state, &summary))
    }

    /// Jobs, newest first: waiting and running ones from the queue, finished
    /// ones from the store.
    pub fn list(&self, state: Option<JobState>, limit: usize) -> Result<Vec<JobView>, JobError> {
        self.list_before(state, limit, None)
    }

    /// A page of [`Local::list`]: only jobs whose id sorts before `before`.
    pub fn list_before(
        &self,
        state: Option<JobState>,
        limit: usize,
        before: Option<&str>,
    ) -> Result<Vec<JobView>, JobError> {
        let mut out = Vec::new();
        for (dir, s) in [(Dir::Queued, JobState::Queued), (Dir::Active, JobState::Active)] {
            if state.is_some_and(|want| want != s) {
                continue;
            }
            let mut ids = self.queue.list(dir)?;
            if let Some(before) = before {
                ids.retain(|id| id.as_str() < before);
            }
            ids.sort_unstable_by(|a, b| b.cmp(a));
            ids.truncate(limit);
            for id in ids {
                match self.view_from_files(&id, dir) {
                    Ok(v) => out.push(v),
                    Err(JobError::NotFound(_)) => {}
                    Err(e) => tracing::warn!(%id, "skipping job: {e}"),
                }
            }
        }
        if state.is_none_or(JobState::is_finished) {
            out.extend(self.store.list(state, limit, before)?);
        }
        out.sort_by(|a, b| b.id.cmp(&a.id));
        out.dedup_by(|a, b| a.id == b.id);
        out.truncate(limit);
        Ok(out)
    }

    /// Cancels a job: a waiting one at once, a running one by asking its worker.
    pub fn cancel(&self, id: &str) -> Result<CancelOutcome, JobError> {
        if self.queue.cancel_queued(id)? {
            let job = self.queue.read(Dir::Failed, id).map_err(|e| read_error(id, e))?;
            // Having won the job, this process owns its log: usually it
            // creates it, with the implied `queued` event first.
            let (mut writer, _) = self.events.open_job(id)?;
            writer.append_durable(EventBody::Cancelled {
                reason: Some("cancelled before it started".into()),
            })?;
            writer.sync_dir()?;
            let summary = Summary::from_events(&self.events.read_all(id)?);
            self.store.record(&view_of(&job, JobState::Cancelled, &summary))?;
            return Ok(CancelOutcome::Cancelled);
        }
        match self.queue.locate(id) {
            Some(Dir::Active) => {
                self.queue.request_cancel(id)?;
                Ok(CancelOutcome::Requested)
            }
            Some(Dir::Queued) => self.cancel(id),
            Some(_) => {
                let state = self.view(id)?.state;
                Err(JobError::WrongState {
                    id: id.to_owned(),
                    state,
                    action: "only queued or active jobs can be cancelled",
                })
            }
            None => Err(JobError::NotFound(id.to_owned())),
        }
    }

    /// Puts a failed or cancelled job back in the queue with fresh attempts.
    pub fn retry(&self, id: &str) -> Result<(), JobError> {
        let state = self.view(id)?.state;
        if !matches!(state, JobState::Failed | JobState::Cancelled) {
            return Err(JobError::WrongState {
                id: id.to_owned(),
                state,
                action: "only failed or cancelled jobs can be retried",
            });
        }
        // The event goes first: once the file is back in `_queue` a worker
        // may claim it and start appending.
        let (mut writer, _) = self.events.open_job(id)?;
        writer.append_durable(EventBody::Queued { attempts: 0, reason: Some("retry".into()) })?;
        writer.sync_dir()?;
        drop(writer);
        self.queue.clear_cancel(id);
        if !self.queue.retry(id)? {
            return Err(JobError::NotFound(id.to_owned()));
        }
        self.store.forget(id)?;
        Ok(())
    }
}

/// The tools a job may call: the ones it names (`all`: every enabled one),
/// else those its skills allow, else the config's default. Always within
/// the enabled tools and, when a skill declares `allowed-tools`, within
/// what the skills allow (`bound`: the granted names and the skills that
/// declared them): a job can narrow its skills' tools, never widen them.
fn resolve_tools(
    requested: &[String],
    bound: Option<(&BTreeSet<String>, &[String])>,
    default: &[String],
    enabled: &[String],
) -> Result<Vec<String>, String> {
    let allowed = |name: &str| bound.is_none_or(|(granted, _)| granted.iter().any(|g| covers(g, name)));
    let mut out = BTreeSet::new();
    if requested.iter().any(|r| r == "all") {
        out.extend(enabled.iter().filter(|t| allowed(t)).cloned());
        // A skill that grants some of an external server's tools grants those.
        if let Some((granted, _)) = bound {
            out.extend(granted.iter().filter(|g| enabled.iter().any(|e| covers(e, g))).cloned());
        }
    } else if requested.is_empty() {
        match bound {
            Some((granted, _)) => {
                out.extend(enabled.iter().filter(|t| allowed(t)).cloned());
                out.extend(granted.iter().filter(|g| enabled.iter().any(|e| covers(e, g))).cloned());
            }
            None => out.extend(default.iter().cloned()),
        }
    } else {
        out.extend(requested.iter().cloned());
    }
    // `server.*` and one of its tools: the wildcard holds it.
    let wild: Vec<String> = out.iter().filter(|n| n.ends_with(".*")).cloned().collect();
    out.retain(|n| n.ends_with(".*") || !wild.iter().any(|w| covers(w, n)));
    for name in &out {
        if !enabled.iter().any(|e| covers(e, name)) {
            return Err(format!(
                "no tool named {name:?} is enabled (see `ctl tools list`; tools are turned on in [tools], external servers in [mcp.servers])"
            ));
        }
        if let Some((granted, skills)) = bound.filter(|_| !allowed(name)) {
            let granted: Vec<&str> = granted.iter().map(String::as_str).collect();
            return Err(format!(
                "the skills {} allow only {} (allowed-tools); the job asked for {name}",
                skills.join(", "),
                if granted.is_empty() { "no ctl tools".to_owned() } else { granted.join(", ") }
            ));
        }
    }
    Ok(out.into_iter().collect())
}

/// Whether the tool name (or `server.*`) `pattern` includes `name`.
fn covers(pattern: &str, name: &str) -> bool {
    pattern == name
        || pattern.strip_suffix(".*").is_some_and(|server| {
            name.strip_prefix(server).and_then(|rest| rest.strip_prefix('.')).is_some_and(|t| !t.is_empty())
        })
}

/// `tool_choice` is `auto`, `none`, `required` or one of the job's tools,
/// or a comma-separated list of those, one per model call.
fn check_tool_choice(choice: &str, tools: &[String]) -> Result<(), String> {
    for c in choice.split(',').map(str::trim) {
        if !matches!(c, "auto" | "none" | "required") && !tools.iter().any(|t| covers(t, c)) {
            return Err(format!(
                "tool_choice {c:?} is not auto, none, required or one of the job's tools ({})",
                tools.join(", ")
            ));
        }
    }
    Ok(())
}

fn read_error(id: &str, e: queue::ReadError) -> JobError {
    match e {
        queue::ReadError::Missing => JobError::NotFound(id.to_owned()),
        queue::ReadError::Corrupt(r) | queue::ReadError::Io(r) => {
            JobError::Invalid(format!("job file {id}: {r}"))
        }
    }
}

/// The sources of the last `retrieval` event in a log.
fn last_sources(events: &dyn crate::backend::EventLog, id: &str) -> Option<Vec<crate::api::RetrievedSource>> {
    events.read_all(id).ok()?.into_iter().rev().find_map(|e| match e.body {
        EventBody::Retrieval { sources, .. } => Some(sources),
        _ => None,
    })
}

/// Builds the view of a job from its file and its log.
pub fn view_of(job: &Job, state: JobState, summary: &Summary) -> JobView {
    let error = match &summary.terminal {
        Some(EventBody::Failed { error }) => Some(error.clone()),
        Some(EventBody::Cancelled { reason }) => Some(reason.clone().unwrap_or_else(|| "cancelled".into())),
        _ => None,
    };
    JobView {
        id: job.id.clone(),
        state,
        model: job.model.clone(),
        priority: job.priority,
        created_at: job.created_at,
        started_at: summary.started_at,
        finished_at: summary.finished_at,
        attempts: summary.attempts,
        max_attempts: job.max_attempts,
        worker: summary.worker.clone(),
        prompt: job.prompt_preview().to_owned(),
        output: summary.output.clone(),
        error,
        usage: summary.usage.clone(),
        params: job.params.clone(),
        session_id: job.session_id.clone(),
        parent_id: job.parent_id.clone(),
        skills: job.skills.iter().map(SkillSnapshot::reference).collect(),
        tools: job.tools.clone(),
        tool_stats: summary.tools.clone(),
        client: job.client.clone(),
        sources: summary.sources.clone(),
        vault: job.rag.as_ref().map(|r| r.vault.clone()),
    }
}

#[cfg(test)]
mod tool_set_tests {
    use std::collections::BTreeSet;

    use super::{check_tool_choice, resolve_tools};

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn a_job_gets_what_it_asks_for_else_its_skills_tools_else_the_default() {
        let enabled = names(&["fetch", "run_code", "vault_read", "web_search"]);
        let none: Option<(&BTreeSet<String>, &[String])> = None;
        assert_eq!(resolve_tools(&names(&["fetch"]), none, &[], &enabled).unwrap(), ["fetch"]);
        assert_eq!(resolve_tools(&names(&["all"]), none, &[], &enabled).unwrap(), enabled);
        assert_eq!(resolve_tools(&[], none, &names(&["vault_read"]), &enabled).unwrap(), ["vault_read"]);
        let granted: BTreeSet<String> = names(&["fetch", "web_search", "Read"]).into_iter().collect();
        let skills = names(&["research"]);
        let bound = Some((&granted, skills.as_slice()));
        assert_eq!(
            resolve_tools(&[], bound, &names(&["run_code"]), &enabled).unwrap(),
            ["fetch", "web_search"]
        );
        assert_eq!(resolve_tools(&names(&["all"]), bound, &[], &enabled).unwrap(), ["fetch", "web_search"]);
        assert_eq!(resolve_tools(&names(&["fetch"]), bound, &[], &enabled).unwrap(), ["fetch"]);
    }

    #[test]
    fn a_job_cannot_widen_its_skills_tools_or_name_disabled_ones() {
        let enabled = names(&["fetch", "run_code"]);
        let granted: BTreeSet<String> = names(&["fetch"]).into_iter().collect();
        let skills = names(&["research"]);
        let err = resolve_tools(&names(&["run_code"]), Some((&granted, &skills)), &[], &enabled).unwrap_err();
        assert!(err.contains("research allow only fetch") && err.contains("run_code"), "{err}");
        let err = resolve_tools(&names(&["nope"]), None, &[], &enabled).unwrap_err();
        assert!(err.contains("\"nope\"") && err.contains("ctl tools list"), "{err}");
    }

    #[test]
    fn external_server_tools_are_named_server_dot_tool() {
        let enabled = names(&["fetch", "docs.*"]);
        let none: Option<(&BTreeSet<String>, &[String])> = None;
        assert_eq!(resolve_tools(&names(&["docs.search"]), none, &[], &enabled).unwrap(), ["docs.search"]);
        assert_eq!(
            resolve_tools(&names(&["docs.*", "docs.search"]), none, &[], &enabled).unwrap(),
            ["docs.*"]
        );
        assert_eq!(resolve_tools(&names(&["all"]), none, &[], &enabled).unwrap(), ["docs.*", "fetch"]);
        let err = resolve_tools(&names(&["git.log"]), none, &[], &enabled).unwrap_err();
        assert!(err.contains("[mcp.servers]"), "{err}");
        // A skill that grants one of the server's tools grants only that one.
        let granted: BTreeSet<String> = names(&["docs.search"]).into_iter().collect();
        let skills = names(&["research"]);
        let bound = Some((&granted, skills.as_slice()));
        assert_eq!(resolve_tools(&names(&["all"]), bound, &[], &enabled).unwrap(), ["docs.search"]);
        assert!(resolve_tools(&names(&["docs.*"]), bound, &[], &enabled).is_err());
        assert!(check_tool_choice("docs.search", &names(&["docs.*"])).is_ok());
    }

    #[test]
    fn tool_choice_names_the_jobs_tools() {
        let tools = names(&["vault_read", "run_code"]);
        assert!(check_tool_choice("vault_read,run_code,none", &tools).is_ok());
        assert!(check_tool_choice("auto", &[]).is_ok());
        assert!(check_tool_choice("fetch", &tools).unwrap_err().contains("\"fetch\""));
    }
}
