//! Running one claimed job: attempts, streaming into the event log,
//! cancellation, retries with backoff, and the durable finish.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::watch;
use tracing::Instrument as _;

use super::Shared;
use super::budget::{Budget, Part};
use super::tools::{JobTools, Limits as ToolLimits, RoundEnd};
use crate::api::{EventBody, Job, JobState, Message, Role, ToolCall, Usage};
use crate::backend::EventSink;
use crate::events::Summary;
use crate::jobs::view_of;
use crate::provider::{ChatEvent, ChatRequest, ProviderError};
use crate::queue::Dir;
use crate::store::ChatMessage;
use crate::tools::ToolError;

/// How one attempt ended.
enum Outcome {
    Completed {
        usage: Usage,
        finish_reason: Option<String>,
        /// Calls of the client's own functions, handed back to it.
        tool_calls: Vec<ToolCall>,
    },
    Failed(ProviderError),
    Cancelled,
    /// The worker is shutting down: hand the job back.
    Interrupted,
}

/// How often a running job looks for a cancel request.
const CANCEL_POLL: Duration = Duration::from_millis(200);

/// A claimed job with its log open, as [`prepare`] left it.
pub(super) struct Prepared {
    job: Job,
    writer: Box<dyn EventSink>,
    summary: Summary,
    /// The attempt whose `started` event [`prepare`] wrote, if it did.
    started: Option<u32>,
    /// The job's trace span, continuing the trace in its file.
    pub(super) span: tracing::Span,
}

/// The start of a claimed job, on the thread that claimed it (blocking
/// I/O), so its `started` event follows the claim without a hop between
/// threads: opens the log (usually makes it, from a spare), reads what it
/// says and, when the job is to run, writes the first attempt's `started`
/// event. `None` when the log cannot be opened: the job stays in `_active`
/// for recovery.
pub(super) fn prepare(shared: &Shared, job: Job) -> Option<Prepared> {
    let id = job.id.clone();
    let span = crate::telemetry::job_span(&job);
    let _claim = tracing::info_span!(parent: &span, "claim", job.id = %id).entered();
    // A new log holds just the implied `queued` event: nothing to read back.
    let opened = shared.lease.open_log(&id).and_then(|(mut w, implied)| {
        let summary = match implied {
            Some(ev) => Summary::from_events(&[ev]),
            None => Summary::from_events(&shared.local.events.read_all(&id)?),
        };
        if summary.started_at.is_some() {
            // An earlier worker ran it and may have died before it made
            // the log's name durable.
            w.assume_dir_unsynced();
        }
        Ok((w, summary))
    });
    let (mut writer, summary) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(%id, "cannot open event log; leaving the job for recovery: {e}");
            shared.lease.release(&id);
            return None;
        }
    };
    let mut started = None;
    if summary.terminal.is_none() && summary.attempts < max_attempts(shared, &job) {
        let attempt = summary.attempts + 1;
        if !start_attempt(shared, &job, writer.as_mut(), attempt) {
            return None;
        }
        started = Some(attempt);
    }
    Some(Prepared { job, writer, summary, started, span: span.clone() })
}

fn max_attempts(shared: &Shared, job: &Job) -> u32 {
    if job.max_attempts == 0 { shared.local.config.worker.max_attempts } else { job.max_attempts }
}

/// Writes an attempt's `started` event. False (with the job released for
/// recovery) when the log refuses it.
fn start_attempt(shared: &Shared, job: &Job, writer: &mut dyn EventSink, attempt: u32) -> bool {
    let started =
        EventBody::Started { attempt, worker: shared.lease.id().to_owned(), model: job.model.clone() };
    if let Err(e) = writer.append(started) {
        tracing::error!(id = %job.id, "cannot write event log; leaving the job for recovery: {e}");
        shared.lease.release(&job.id);
        return false;
    }
    tracing::info!(id = %job.id, attempt, model = %job.model, "job started");
    true
}

/// Runs a prepared job to its end. Never panics on bad input; every path
/// either finishes the job durably, hands it back to the queue, or (when
/// the disk refuses) leaves it in `_active` for recovery to retry.
pub(super) async fn run_job(shared: &Shared, prepared: Prepared, mut stop: watch::Receiver<bool>) {
    let Prepared { job, mut writer, summary, mut started, .. } = prepared;
    let id = job.id.clone();
    let local = &shared.local;

    // A previous worker wrote the terminal event and died before moving the
    // file: finish its bookkeeping instead of running the job again.
    if let Some(state) = summary.terminal.as_ref().and_then(EventBody::terminal_state) {
        if let Err(e) = tokio::task::block_in_place(|| writer.sync_dir()) {
            tracing::error!(%id, "cannot sync the event log; leaving the job for recovery: {e}");
            shared.lease.release(&id);
            return;
        }
        finish(shared, &job, writer.as_mut(), state, &summary).await;
        return;
    }

    let max = max_attempts(shared, &job);
    let mut used = summary.attempts;
    let mut last_error: Option<String> = None;
    loop {
        // The first attempt was started by `prepare`.
        let attempt = if let Some(attempt) = started.take() {
            attempt
        } else {
            if used >= max {
                let why = last_error.take().unwrap_or_else(|| "its worker died during each attempt".into());
                let error = format!("gave up after {used} attempts: {why}");
                end(shared, &job, writer.as_mut(), EventBody::Failed { error }).await;
                return;
            }
            if !start_attempt(shared, &job, writer.as_mut(), used + 1) {
                return;
            }
            used + 1
        };
        used = attempt;
        pause_point(shared, "after_claim", &id).await;

        let attempt_span = tracing::info_span!("attempt", attempt);
        // The provider's host-wide limits: wait for a slot, then run with it.
        let outcome = match wait_for_slot(shared, &job, writer.as_mut(), attempt, &mut stop).await {
            Ok(_slot) => {
                attempt_once(shared, &job, writer.as_mut(), &mut stop).instrument(attempt_span).await
            }
            Err(outcome) => outcome,
        };
        match outcome {
            Outcome::Completed { usage, finish_reason, tool_calls } => {
                if let Err(e) = writer.append(EventBody::Usage(usage)) {
                    last_error = Some(e.to_string());
                    tracing::error!(%id, "{e}");
                    continue;
                }
                pause_point(shared, "before_done", &id).await;
                end(shared, &job, writer.as_mut(), EventBody::Done { finish_reason, tool_calls }).await;
                return;
            }
            Outcome::Cancelled => {
                end(
                    shared,
                    &job,
                    writer.as_mut(),
                    EventBody::Cancelled { reason: Some("cancelled while running".into()) },
                )
                .await;
                return;
            }
            Outcome::Interrupted => {
                hand_back(shared, &job, writer.as_mut(), attempt - 1);
                return;
            }
            Outcome::Failed(err) if err.is_transient() && attempt < max => {
                let delay = backoff(&local.config.worker, attempt);
                tracing::warn!(%id, attempt, "transient error, retrying in {delay:?}: {err}");
                let reason =
                    format!("attempt {attempt} failed, retrying in {:.1}s: {err}", delay.as_secs_f64());
                if writer.append(EventBody::Queued { attempts: attempt, reason: Some(reason) }).is_err() {
                    tracing::error!(%id, "cannot write event log during retry");
                }
                last_error = Some(err.message);
                match wait_or_stop(shared, &id, delay, &mut stop).await {
                    Some(Outcome::Cancelled) => {
                        end(
                            shared,
                            &job,
                            writer.as_mut(),
                            EventBody::Cancelled { reason: Some("cancelled".into()) },
                        )
                        .await;
                        return;
                    }
                    Some(_) => {
                        hand_back(shared, &job, writer.as_mut(), attempt);
                        return;
                    }
                    None => {}
                }
            }
            Outcome::Failed(err) => {
                let error = if err.is_transient() {
                    format!("gave up after {attempt} attempts: {}", err.message)
                } else {
                    err.message
                };
                end(shared, &job, writer.as_mut(), EventBody::Failed { error }).await;
                return;
            }
        }
    }
}

/// One attempt: calls to the model, streamed into the log, with a round of
/// tool calls between two calls while the model asks for them.
async fn attempt_once(
    shared: &Shared,
    job: &Job,
    writer: &mut dyn EventSink,
    stop: &mut watch::Receiver<bool>,
) -> Outcome {
    let (provider, model) = match shared.provider(&job.model) {
        Ok(p) => p,
        Err(e) => return Outcome::Failed(e),
    };
    let mut tools = match job_tools(shared, job).await {
        Ok(t) => t,
        Err(e) => return Outcome::Failed(e),
    };
    let sources = match super::retrieval::sources_for(shared, job, writer).await {
        Ok(s) => s,
        Err(e) => return Outcome::Failed(e),
    };
    if !sources.is_empty() {
        // Retrieved notes are private: the egress guard applies from here.
        tools.saw_private_data();
    }
    let (mut messages, mut parts) = request_messages(job, &sources);
    let configured =
        shared.local.config.providers.get(provider_name(&job.model)).and_then(|p| p.context_window);
    let mut budget =
        Budget::new(provider.as_ref(), &shared.windows, configured, &job.model, &model, &job.params).await;
    let max_tokens = job.params.get("max_tokens").and_then(serde_json::Value::as_u64);
    let specs = tools.specs();
    let mut totals = Totals::new();
    let queue = shared.local.queue.as_ref();
    let cancel = || queue.cancel_requested(&job.id);
    for round in 1.. {
        if let Err(e) = budget.fit(&mut messages, &parts, &specs, max_tokens).await {
            return Outcome::Failed(e);
        }
        let req = ChatRequest {
            model: model.clone(),
            messages: messages.clone(),
            params: job.params.clone(),
            tools: specs.clone(),
            tool_choice: tools.choice(round),
        };
        let prompt_chars = messages.iter().map(|m| m.content.chars().count()).sum::<usize>();
        let chat_span = crate::telemetry::chat_span(&job.model);
        let streamed = stream_answer(shared, job, provider.as_ref(), &req, writer, stop, &mut totals)
            .instrument(chat_span.clone())
            .await;
        let answer = match streamed {
            Ok(answer) => answer,
            Err(Outcome::Failed(e)) => {
                // Some servers say too little when a prompt is too long.
                let e = match provider.explain_failure(&req, &e).await {
                    Some(why) => budget.explain(&shared.windows, why, &messages, &parts, &specs).await,
                    None => e,
                };
                return Outcome::Failed(e);
            }
            Err(outcome) => return outcome,
        };
        crate::telemetry::record_chat(&chat_span, &totals.end_round(prompt_chars, answer.reported));
        if answer.calls.is_empty() {
            return Outcome::Completed {
                usage: totals.usage(),
                finish_reason: answer.finish_reason,
                tool_calls: Vec::new(),
            };
        }
        // The client runs its own functions: the job ends with the calls.
        let client_calls = tools.client_calls(&answer.calls);
        if !client_calls.is_empty() {
            return Outcome::Completed {
                usage: totals.usage(),
                finish_reason: Some("tool_calls".into()),
                tool_calls: client_calls,
            };
        }
        if !tools.has_own_tools() {
            return Outcome::Failed(ProviderError::permanent(
                "the model asked for tools, but the job has none (submit it with --tool NAME)",
            ));
        }
        if round > tools.max_rounds() {
            return Outcome::Failed(ProviderError::permanent(format!(
                "the model still asked for tools after {} rounds (worker.max_tool_rounds)",
                tools.max_rounds()
            )));
        }
        let point = format!("in_tool_round_{round}");
        let announced = Box::pin(pause_point(shared, &point, &job.id));
        match tools.run_round(round, &answer.calls, writer, &cancel, stop, announced).await {
            Ok(results) => {
                messages.push(Message {
                    role: Role::Assistant,
                    content: answer.text,
                    tool_calls: answer.calls,
                    tool_call_id: None,
                });
                parts.push(Part::ToolCalls);
                parts.extend(results.iter().map(|_| Part::ToolResults));
                messages.extend(results);
            }
            Err(RoundEnd::Cancelled) => return Outcome::Cancelled,
            Err(RoundEnd::Interrupted) => return Outcome::Interrupted,
            Err(RoundEnd::Failed(e)) => return Outcome::Failed(e),
        }
    }
    unreachable!("the rounds end by returning")
}

/// The job's tools for this attempt, with the results of read-only calls
/// its earlier attempts (or, for a replay asked to, its original) made.
async fn job_tools(shared: &Shared, job: &Job) -> Result<JobTools, ProviderError> {
    let limits = ToolLimits::from_config(&shared.local.config.worker);
    if job.tools.is_empty() {
        return JobTools::new(shared.tools.clone(), job, &[], limits, &[]);
    }
    let names = match &shared.tools {
        // An external server that does not start is worth another attempt.
        Some(host) => host.prepare(&job.tools).await.map_err(|e| match e {
            ToolError::Unknown(_) | ToolError::InvalidArgs(_) => ProviderError::permanent(e.to_string()),
            e => ProviderError::transient(e.to_string()),
        })?,
        None => job.tools.clone(),
    };
    let events = &shared.local.events;
    let mut earlier = events.read_all(&job.id).unwrap_or_default();
    if let Some(original) = &job.tool_results_from {
        earlier.extend(events.read_all(original).unwrap_or_default());
    }
    JobTools::new(shared.tools.clone(), job, &names, limits, &earlier)
}

/// What one call to the model said.
struct Answer {
    text: String,
    calls: Vec<ToolCall>,
    finish_reason: Option<String>,
    /// Token counts the server reported, if it did.
    reported: Option<(u64, u64)>,
}

/// Counts and timings of an attempt, over all its model calls.
struct Totals {
    t0: Instant,
    first: Option<Instant>,
    /// Tokens streamed in the current round.
    round_tokens: u64,
    prompt: u64,
    completion: u64,
    estimated: bool,
}

impl Totals {
    fn new() -> Self {
        Self { t0: Instant::now(), first: None, round_tokens: 0, prompt: 0, completion: 0, estimated: false }
    }

    /// Adds a round's counts: the server's, or (when it sent none) an
    /// estimate from the prompt's length and the streamed tokens. Returns
    /// the round's own usage (for its trace span).
    fn end_round(&mut self, prompt_chars: usize, reported: Option<(u64, u64)>) -> Usage {
        let estimated = reported.is_none();
        let (p, c) = reported.unwrap_or(((prompt_chars as u64).div_ceil(4), self.round_tokens));
        self.estimated |= estimated;
        self.prompt += p;
        self.completion += c;
        self.round_tokens = 0;
        let ttft_ms = self.first.map(|f| (f - self.t0).as_secs_f64() * 1000.0);
        let duration_ms = self.t0.elapsed().as_secs_f64() * 1000.0;
        Usage { prompt_tokens: p, completion_tokens: c, ttft_ms, tokens_per_s: None, duration_ms, estimated }
    }

    fn usage(&self) -> Usage {
        let end = Instant::now();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let tokens_per_s = self.first.and_then(|f| {
            let secs = (end - f).as_secs_f64();
            (self.completion > 1 && secs > 0.0).then(|| (self.completion - 1) as f64 / secs)
        });
        Usage {
            prompt_tokens: self.prompt,
            completion_tokens: self.completion,
            ttft_ms: self.first.map(|f| ms(f - self.t0)),
            tokens_per_s,
            duration_ms: ms(end - self.t0),
            estimated: self.estimated,
        }
    }
}

/// One call to the model, its tokens streamed into the log as they come.
async fn stream_answer(
    shared: &Shared,
    job: &Job,
    provider: &dyn crate::provider::Provider,
    req: &ChatRequest,
    writer: &mut dyn EventSink,
    stop: &mut watch::Receiver<bool>,
    totals: &mut Totals,
) -> Result<Answer, Outcome> {
    let mut cancel_tick = cancel_ticks();
    let queue = shared.local.queue.as_ref();

    let mut stream = tokio::select! {
        r = provider.chat(req.clone()) => match r {
            Ok(s) => s,
            Err(e) => return Err(Outcome::Failed(e)),
        },
        () = cancelled(queue, &job.id) => return Err(Outcome::Cancelled),
        () = stopped(stop) => return Err(Outcome::Interrupted),
    };

    let mut answer = Answer { text: String::new(), calls: Vec::new(), finish_reason: None, reported: None };
    loop {
        tokio::select! {
            item = stream.next() => match item {
                Some(Ok(ChatEvent::Token(text))) => {
                    if text.is_empty() {
                        continue;
                    }
                    totals.first.get_or_insert_with(Instant::now);
                    totals.round_tokens += 1;
                    answer.text.push_str(&text);
                    // A token is a small write to the page cache, not worth a
                    // trip to the blocking pool; durability comes at the end.
                    if let Err(e) = writer.append(EventBody::Token { text }) {
                        return Err(Outcome::Failed(ProviderError::transient(e.to_string())));
                    }
                    if totals.round_tokens == 5 {
                        pause_point(shared, "mid_stream", &job.id).await;
                    }
                    if let Some(delay) = test_token_delay() {
                        tokio::time::sleep(delay).await;
                    }
                }
                Some(Ok(ChatEvent::ToolCall(call))) => answer.calls.push(call),
                Some(Ok(ChatEvent::Usage { prompt_tokens, completion_tokens })) => {
                    answer.reported = Some((prompt_tokens, completion_tokens));
                }
                Some(Ok(ChatEvent::Done { finish_reason: r })) => answer.finish_reason = r,
                Some(Err(e)) => return Err(Outcome::Failed(e)),
                None => break,
            },
            _ = cancel_tick.tick() => {
                if queue.cancel_requested(&job.id) {
                    return Err(Outcome::Cancelled);
                }
            }
            () = stopped(stop) => return Err(Outcome::Interrupted),
        }
    }
    Ok(answer)
}

/// Waits for a slot under the job's provider's `max_concurrency` and
/// `requests_per_minute`. A job that must wait says so in its log (a
/// `queued` event with the reason, then `started` again when it goes on),
/// so `ctl tail` and the web UI show the wait; a cancel or a shutdown ends
/// the wait.
async fn wait_for_slot(
    shared: &Shared,
    job: &Job,
    writer: &mut dyn EventSink,
    attempt: u32,
    stop: &mut watch::Receiver<bool>,
) -> Result<crate::limits::Slot, Outcome> {
    let Some((name, cfg)) =
        job.model.split_once(':').and_then(|(p, _)| shared.local.config.providers.get_key_value(p))
    else {
        return Ok(crate::limits::Slot::default());
    };
    let limits = crate::limits::ProviderLimits::new(&shared.local.home.workers_dir(), name, cfg);
    if !limits.is_limited() {
        return Ok(crate::limits::Slot::default());
    }
    let mut waited = false;
    let acquired = tokio::select! {
        r = limits.acquire(|why| {
            waited = true;
            let reason = Some(format!("waiting for provider {name}: {why}"));
            tracing::info!(id = %job.id, provider = %name, "waiting for a slot: {why}");
            if let Err(e) = writer.append(EventBody::Queued { attempts: attempt, reason }) {
                tracing::warn!(id = %job.id, "cannot write event log: {e}");
            }
        }) => r,
        () = cancelled(shared.local.queue.as_ref(), &job.id) => return Err(Outcome::Cancelled),
        () = stopped(stop) => return Err(Outcome::Interrupted),
    };
    let slot =
        acquired.map_err(|e| Outcome::Failed(ProviderError::transient(format!("provider limits: {e}"))))?;
    if waited {
        let started =
            EventBody::Started { attempt, worker: shared.lease.id().to_owned(), model: job.model.clone() };
        if let Err(e) = writer.append(started) {
            return Err(Outcome::Failed(ProviderError::transient(e.to_string())));
        }
    }
    Ok(slot)
}

/// The conversation sent to the model, and what each message is: the
/// instructions of the job's skill snapshots first, as one system message,
/// then the job's own messages.
fn request_messages(job: &Job, sources: &[crate::api::RetrievedSource]) -> (Vec<Message>, Vec<Part>) {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    if !job.skills.is_empty() {
        let mut text = String::from("Follow the instructions of these skills.\n");
        for skill in &job.skills {
            let _ = write!(text, "\n<skill name=\"{}\">\n{}\n</skill>\n", skill.name, skill.instructions());
        }
        out.push(Message::new(Role::System, text));
        parts.push(Part::Skills);
    }
    if let Some(rag) = &job.rag {
        out.push(Message::new(Role::System, super::retrieval::sources_prompt(rag.mode, sources)));
        parts.push(Part::Sources);
    }
    out.extend(job.messages.iter().cloned());
    parts.extend(Part::of_job_messages(&job.messages));
    (out, parts)
}

/// The provider's name in `provider:model`.
fn provider_name(model: &str) -> &str {
    model.split_once(':').map_or(model, |(p, _)| p)
}

/// Resolves once the worker asks running jobs to stop.
pub(super) async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        // The worker is gone without asking: nothing will ever ask.
        std::future::pending::<()>().await;
    }
}

/// Ticks to look for a cancel request on, the first one period from now:
/// a cancel requested before the claim took the job out of the queue
/// (`ctl cancel` of a queued job), so looking at once would only cost a
/// read of the queue per job, which on a database is a round trip.
pub(super) fn cancel_ticks() -> tokio::time::Interval {
    tokio::time::interval_at(tokio::time::Instant::now() + CANCEL_POLL, CANCEL_POLL)
}

/// Resolves once a cancel request for `id` appears.
async fn cancelled(queue: &dyn crate::backend::JobQueue, id: &str) {
    let mut tick = cancel_ticks();
    loop {
        tick.tick().await;
        if queue.cancel_requested(id) {
            return;
        }
    }
}

/// Sleeps `delay`, or returns early on a cancel or a shutdown.
async fn wait_or_stop(
    shared: &Shared,
    id: &str,
    delay: Duration,
    stop: &mut watch::Receiver<bool>,
) -> Option<Outcome> {
    tokio::select! {
        () = tokio::time::sleep(delay) => None,
        () = cancelled(shared.local.queue.as_ref(), id) => Some(Outcome::Cancelled),
        () = stopped(stop) => Some(Outcome::Interrupted),
    }
}

/// Exponential backoff with up to 20 % jitter.
fn backoff(cfg: &crate::config::WorkerConfig, attempt: u32) -> Duration {
    let base = cfg.backoff_base_ms.saturating_mul(1 << (attempt - 1).min(16)).min(cfg.backoff_max_ms);
    let jitter = ulid::Ulid::generate().random() as u64 % (base / 5 + 1);
    Duration::from_millis(base + jitter)
}

/// Writes the terminal event durably, then records and moves the job.
async fn end(shared: &Shared, job: &Job, writer: &mut dyn EventSink, body: EventBody) {
    let state = body.terminal_state().unwrap_or(JobState::Failed);
    let result = tokio::task::block_in_place(|| -> Result<Summary, crate::events::EventError> {
        writer.append_durable(body)?;
        // The log's name must be durable too before the job file moves.
        writer.sync_dir()?;
        let mut events = shared.local.events.read_all(&job.id)?;
        events.extend(writer.unflushed());
        Ok(Summary::from_events(&events))
    });
    match result {
        Ok(summary) => finish(shared, job, writer, state, &summary).await,
        Err(e) => {
            // Nothing durable says the job ended, so it must not look ended.
            tracing::error!(id = %job.id, "cannot record the end of the job; leaving it for recovery: {e}");
            shared.lease.release(&job.id);
        }
    }
}

/// Records the finished job in the store and moves its file. Safe to
/// repeat: the record is keyed by id and the move happens once.
async fn finish(shared: &Shared, job: &Job, writer: &mut dyn EventSink, state: JobState, summary: &Summary) {
    let view = view_of(job, state, summary);
    pause_point(shared, "before_finish", &job.id).await;
    let to = if state == JobState::Completed { Dir::Completed } else { Dir::Failed };
    // Keyed by (job, role): a finish repeated after a crash adds one answer.
    let answer = match (state, &job.session_id) {
        (JobState::Completed, Some(session)) => Some(ChatMessage {
            id: crate::queue::new_id(),
            session_id: session.clone(),
            role: Role::Assistant,
            content: view.output.clone(),
            job_id: Some(job.id.clone()),
            created_at: jiff::Timestamp::now(),
        }),
        _ => None,
    };
    let result = tokio::task::block_in_place(|| {
        shared.lease.finish(&job.id, to, writer, &view, answer.as_ref()).map_err(|e| e.to_string())
    });
    match result {
        Ok(()) => tracing::info!(id = %job.id, %state, attempts = view.attempts, "job finished"),
        Err(e) => {
            tracing::error!(id = %job.id, "cannot finish the job; leaving it for recovery: {e}");
        }
    }
    shared.lease.release(&job.id);
}

/// Gives a job back to the queue (shutdown). `attempts` is what it used.
fn hand_back(shared: &Shared, job: &Job, writer: &mut dyn EventSink, attempts: u32) {
    let reason = Some("worker shut down; waiting for another".to_owned());
    let result = tokio::task::block_in_place(|| {
        writer.append(EventBody::Queued { attempts, reason }).map_err(|e| e.to_string())?;
        // Written while the job is still held: a database backend refuses
        // the holder's writes once the job is back in the queue.
        writer.sync_dir().map_err(|e| e.to_string())?;
        shared.lease.requeue(&job.id).map_err(|e| e.to_string())
    });
    if let Err(e) = result {
        tracing::error!(id = %job.id, "cannot requeue the job; recovery will: {e}");
    }
    shared.lease.release(&job.id);
}

/// Test hook (debug builds only): `CTL_TEST_TOKEN_DELAY_MS=N` holds each
/// token for N ms, so a browser test can stop or reload a stream midway.
fn test_token_delay() -> Option<Duration> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let ms: u64 = std::env::var("CTL_TEST_TOKEN_DELAY_MS").ok()?.parse().ok()?;
    Some(Duration::from_millis(ms))
}

/// Test hook (debug builds only): with `CTL_TEST_PAUSE_AT=<point>` the
/// worker writes `<home>/paused-<point>` and stops there, so a crash test
/// can kill it at an exact moment.
async fn pause_point(shared: &Shared, point: &str, id: &str) {
    if cfg!(debug_assertions) && std::env::var("CTL_TEST_PAUSE_AT").is_ok_and(|p| p == point) {
        let marker = shared.local.home.root().join(format!("paused-{point}"));
        let _ = std::fs::write(&marker, id);
        tracing::warn!(%id, point, "paused for a crash test");
        std::future::pending::<()>().await;
    }
}
