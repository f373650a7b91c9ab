//! The per-job event log, `events/<id>.ndjson`: the streaming contract.
//!
//! One JSON object per line, `seq` counting from 0. Only the process that
//! owns the job appends (the worker that claimed it, a canceller that won
//! it, `retry` before putting it back), so `seq` never repeats. Tokens are
//! written without fsync; a terminal event is fsynced before the job file
//! moves on. A reader ignores a torn last line (a writer died mid-line) and
//! the next writer cuts it off before appending.
//!
//! Submit does not create the log: creating a file costs about as much as
//! an fsync on some disks, and the job file already says the job is
//! queued. A job's first owner creates it ([`EventWriter::open_job`]) and
//! writes the job's implied `queued` event ([`implied_queued`]: seq 0, `ts`
//! the time in the job's id) before anything else, and a reader that finds
//! no log yet shows that same event (see [`Follower`]). So every log starts
//! with the same `queued` event it always did, and `seq` and `Last-Event-ID`
//! mean what they always meant.

mod follow;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::api::{Event, EventBody};
use crate::queue;

pub use follow::{Follower, Hub, follow};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot {action} event log {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
    /// A database backend's error.
    #[error("{0}")]
    Backend(String),
}

/// Appends events to one job's log.
#[derive(Debug)]
pub struct EventWriter {
    file: File,
    path: PathBuf,
    next_seq: u64,
    buf: Vec<u8>,
    /// The log's directory entry may not be durable yet.
    dir_unsynced: bool,
}

impl EventWriter {
    /// Opens (creating) a log for appending, repairing a torn last line and
    /// continuing its `seq`.
    pub fn open(path: &Path) -> Result<Self, EventError> {
        Self::open_with(path, None)
    }

    /// [`EventWriter::open`]; a missing log is made from one of `spares`
    /// if there is one (a rename instead of a file creation).
    fn open_with(path: &Path, spares: Option<&Spares>) -> Result<Self, EventError> {
        let err = |action| {
            let path = path.to_path_buf();
            move |source| EventError::Io { action, path, source }
        };
        let opts = || {
            let mut o = File::options();
            o.read(true).append(true);
            o
        };
        let (mut file, created) = match spares {
            // A log that exists is never replaced: look before the rename.
            // Only the job's owner creates its log, so nobody else can
            // create it in between.
            Some(spares) => match opts().open(path) {
                Ok(f) => (f, false),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => match spares.take_as(path) {
                    Some(f) => (f, true),
                    None => create_or_open(path, opts).map_err(err("open"))?,
                },
                Err(e) => return Err(err("open")(e)),
            },
            // A log is usually new when its writer opens it: create first.
            None => create_or_open(path, opts).map_err(err("open"))?,
        };
        let mut last_seq = None;
        if !created {
            let (valid_len, seq) = scan_tail(&mut file).map_err(err("read"))?;
            if valid_len != file.metadata().map_err(err("stat"))?.len() {
                file.set_len(valid_len).map_err(err("repair"))?;
            }
            last_seq = seq;
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            next_seq: last_seq.map_or(0, |s| s + 1),
            buf: Vec::with_capacity(256),
            dir_unsynced: created,
        })
    }

    /// Opens job `id`'s log as the job's owner (the worker that claimed it,
    /// or whoever won it from the queue). A log that is missing or holds no
    /// event yet first gets the job's implied `queued` event, so the log
    /// starts as readers have been shown it. Returns the writer and that
    /// event when it was written here (the log held nothing else). A
    /// missing log is made from one of `spares` when there is one.
    pub fn open_job(
        path: &Path,
        id: &str,
        spares: Option<&Spares>,
    ) -> Result<(Self, Option<Event>), EventError> {
        let mut writer = Self::open_with(path, spares)?;
        if writer.next_seq != 0 {
            return Ok((writer, None));
        }
        let implied = implied_queued(id);
        let written = writer.write_event(implied)?;
        Ok((writer, Some(written)))
    }

    /// Says that the log's directory entry may not be durable even though
    /// this writer did not create it (a process that died created it).
    pub fn assume_dir_unsynced(&mut self) {
        self.dir_unsynced = true;
    }

    /// Makes the log's name durable (an fsync of the events directory) if
    /// this writer created the log or was told it may not be: a durable
    /// event is only durable once the file it is in can be found after a
    /// power cut. A no-op otherwise, and after the first call.
    pub fn sync_dir(&mut self) -> Result<(), EventError> {
        if !self.dir_unsynced {
            return Ok(());
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        queue::sync_dir(dir).map_err(|source| EventError::Io {
            action: "sync the directory of",
            path: self.path.clone(),
            source,
        })?;
        self.dir_unsynced = false;
        Ok(())
    }

    /// The `seq` the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends one event with a single `write`, so a concurrent reader sees
    /// whole lines or nothing new.
    pub fn append(&mut self, body: EventBody) -> Result<Event, EventError> {
        self.write_event(Event { seq: self.next_seq, ts: Timestamp::now(), body })
    }

    /// Writes `event` (its `seq` is set to the next one) in a single `write`.
    fn write_event(&mut self, mut event: Event) -> Result<Event, EventError> {
        event.seq = self.next_seq;
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &event).map_err(|e| EventError::Io {
            action: "encode",
            path: self.path.clone(),
            source: std::io::Error::other(e),
        })?;
        self.buf.push(b'\n');
        if let Err(source) = self.file.write_all(&self.buf) {
            // A partial line (disk full) must not stay for the next append to
            // glue onto; cut back to the last whole line.
            if let Ok(mut f) = File::options().read(true).write(true).open(&self.path)
                && let Ok((len, _)) = scan_tail(&mut f)
            {
                let _ = f.set_len(len);
            }
            return Err(EventError::Io { action: "append to", path: self.path.clone(), source });
        }
        self.next_seq += 1;
        Ok(event)
    }

    /// Makes everything appended so far durable.
    pub fn sync(&self) -> Result<(), EventError> {
        self.file.sync_data().map_err(|source| EventError::Io {
            action: "sync",
            path: self.path.clone(),
            source,
        })
    }

    /// Appends an event and makes it durable: for terminal events.
    pub fn append_durable(&mut self, body: EventBody) -> Result<Event, EventError> {
        let event = self.append(body)?;
        self.sync()?;
        Ok(event)
    }
}

/// Creates a log, or opens it when it exists; true when it was created.
fn create_or_open(path: &Path, opts: impl Fn() -> std::fs::OpenOptions) -> std::io::Result<(File, bool)> {
    match opts().create_new(true).open(path) {
        Ok(f) => Ok((f, true)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok((opts().open(path)?, false)),
        Err(e) => Err(e),
    }
}

/// Empty files made ahead of time, each to become a new event log by a
/// rename. Creating a file costs about as much as an fsync on some disks
/// (0.15 to 0.45 ms on ext4 on a small VM) and a rename a fraction of that,
/// so a worker makes a few while it is idle and the log of the next job it
/// claims costs a rename on the way to its `started` event. The pool lives
/// in its own directory on the data directory's filesystem (the worker's
/// `workers/<id>.spares/`); dropping the pool removes it, and the files of a
/// worker that died are removed with its other leftovers.
#[derive(Debug)]
pub struct Spares {
    dir: PathBuf,
    want: usize,
    state: std::sync::Mutex<SparesState>,
}

#[derive(Debug, Default)]
struct SparesState {
    files: Vec<(PathBuf, File)>,
    made: u64,
}

impl Spares {
    /// A pool of up to `want` files in `dir` (created, empty).
    pub fn new(dir: PathBuf, want: usize) -> std::io::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir, want, state: std::sync::Mutex::default() })
    }

    /// Makes files until the pool is full. For idle moments: each one is a
    /// file creation. Errors are logged, not returned: without spares a log
    /// is created when it is needed, as it would be anyway.
    pub fn fill(&self) {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while st.files.len() < self.want {
            st.made += 1;
            let path = self.dir.join(st.made.to_string());
            match File::options().read(true).append(true).create_new(true).open(&path) {
                Ok(f) => st.files.push((path, f)),
                Err(e) => {
                    tracing::warn!("cannot make a spare event log in {}: {e}", self.dir.display());
                    return;
                }
            }
        }
    }

    /// Renames a spare to `path` (which must not exist) and returns it open.
    fn take_as(&self, path: &Path) -> Option<File> {
        let mut st = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some((spare, file)) = st.files.pop() {
            match std::fs::rename(&spare, path) {
                Ok(()) => return Some(file),
                Err(e) => {
                    tracing::warn!("cannot use spare event log {}: {e}", spare.display());
                    let _ = std::fs::remove_file(&spare);
                    // A disk that refuses renames refuses the next one too.
                    if !queue::is_not_found(&e) {
                        return None;
                    }
                }
            }
        }
        None
    }
}

impl Drop for Spares {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The event every job's log starts with: `queued`, seq 0, no attempts,
/// stamped with the time in the job's id (when the job was created; the
/// job file's `created_at` is the same instant). Submit does not write it:
/// the job's first owner does, and a reader shows it while no log exists.
pub fn implied_queued(id: &str) -> Event {
    Event {
        seq: 0,
        ts: queue::id_time(id).unwrap_or_else(Timestamp::now),
        body: EventBody::Queued { attempts: 0, reason: None },
    }
}

/// Finds the end of the last complete line and the last `seq` in the log,
/// reading backwards from the end so a long log costs one small read.
fn scan_tail(file: &mut File) -> std::io::Result<(u64, Option<u64>)> {
    let len = file.metadata()?.len();
    let mut window = 8192u64;
    loop {
        let start = len.saturating_sub(window);
        let mut buf = vec![0; (len - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        if let Some(last_nl) = buf.iter().rposition(|b| *b == b'\n') {
            let valid_len = start + last_nl as u64 + 1;
            let mut lines: Vec<&[u8]> = buf[..last_nl].split(|b| *b == b'\n').collect();
            if start > 0 {
                // The first piece may begin mid-line.
                lines.remove(0);
            }
            // Skip lines that do not parse, so one corrupt line cannot reset the count.
            if let Some(seq) = lines.iter().rev().find_map(|l| serde_json::from_slice::<SeqOnly>(l).ok()) {
                return Ok((valid_len, Some(seq.seq)));
            }
            if start == 0 {
                return Ok((valid_len, None));
            }
        } else if start == 0 {
            return Ok((0, None));
        }
        window *= 2;
    }
}

#[derive(serde::Deserialize)]
struct SeqOnly {
    seq: u64,
}

/// Splits complete lines out of a growing buffer and parses them as events.
/// Lines that are not valid events are skipped (and counted).
#[derive(Debug, Default)]
pub struct LineDecoder {
    pending: Vec<u8>,
    pub skipped: u64,
}

impl LineDecoder {
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        self.pending.extend_from_slice(bytes);
        let mut start = 0;
        while let Some(pos) = self.pending[start..].iter().position(|b| *b == b'\n') {
            let line = &self.pending[start..start + pos];
            start += pos + 1;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            match serde_json::from_slice::<Event>(line) {
                Ok(ev) => out.push(ev),
                Err(_) => self.skipped += 1,
            }
        }
        self.pending.drain(..start);
    }
}

/// Reads every complete event in a log. A missing log reads as empty.
pub fn read_all(path: &Path) -> Result<Vec<Event>, EventError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(EventError::Io { action: "read", path: path.to_path_buf(), source });
        }
    };
    let mut out = Vec::new();
    LineDecoder::default().push(&bytes, &mut out);
    Ok(out)
}

/// What a log says about a job's run so far.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Attempts used since the last (re)queue that reset the count.
    pub attempts: u32,
    pub worker: Option<String>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    /// The output text of the latest attempt.
    pub output: String,
    pub usage: Option<crate::api::Usage>,
    /// The terminal event, if the job ended.
    pub terminal: Option<EventBody>,
    /// Tool use of the latest attempt.
    pub tools: crate::api::ToolStats,
    /// What retrieval gave the latest attempt.
    pub sources: Vec<crate::api::RetrievedSource>,
    /// When the current round of tool calls began, and the calls still open.
    tool_round: Option<(Timestamp, u32)>,
}

impl Summary {
    pub fn from_events(events: &[Event]) -> Self {
        let mut s = Self::default();
        for ev in events {
            s.apply(ev);
        }
        s
    }

    pub fn apply(&mut self, ev: &Event) {
        match &ev.body {
            EventBody::Queued { attempts, .. } => {
                self.attempts = *attempts;
                self.terminal = None;
                self.finished_at = None;
            }
            EventBody::Started { attempt, worker, .. } => {
                self.attempts = *attempt;
                self.worker = Some(worker.clone());
                self.started_at = Some(ev.ts);
                self.output.clear();
                self.usage = None;
                self.tools = crate::api::ToolStats::default();
                self.tool_round = None;
            }
            EventBody::Retrieval { sources, .. } => self.sources.clone_from(sources),
            EventBody::Token { text } => self.output.push_str(text),
            EventBody::ToolCall { .. } => {
                self.tools.calls += 1;
                // Calls of one round run at once: time the round, not each call.
                self.tool_round.get_or_insert((ev.ts, 0)).1 += 1;
            }
            EventBody::ToolResult { error, .. } => {
                self.tools.errors += u32::from(error.is_some());
                if let Some((since, open)) = &mut self.tool_round {
                    *open = open.saturating_sub(1);
                    if *open == 0 {
                        let ms = ev.ts.duration_since(*since).as_secs_f64() * 1000.0;
                        self.tools.duration_ms += ms.max(0.0);
                        self.tool_round = None;
                    }
                }
            }
            EventBody::Usage(u) => self.usage = Some(u.clone()),
            EventBody::Done { .. } | EventBody::Failed { .. } | EventBody::Cancelled { .. } => {
                self.terminal = Some(ev.body.clone());
                self.finished_at = Some(ev.ts);
            }
        }
    }
}

#[cfg(test)]
mod tests;
