//! The per-job event log, `events/<id>.ndjson`: the streaming contract.
//!
//! One JSON object per line, `seq` counting from 0. Only the process that
//! owns the job appends (the submitter before publishing, the worker while
//! it runs, a canceller once it has won the job), so `seq` never repeats.
//! Tokens are written without fsync; a terminal event is fsynced before the
//! job file moves on. A reader ignores a torn last line (a writer died
//! mid-line) and the next writer cuts it off before appending.

mod follow;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use crate::api::{Event, EventBody};

pub use follow::{Follower, Hub, follow};

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("cannot {action} event log {path}: {source}")]
    Io { action: &'static str, path: PathBuf, source: std::io::Error },
}

/// Appends events to one job's log.
#[derive(Debug)]
pub struct EventWriter {
    file: File,
    path: PathBuf,
    next_seq: u64,
    buf: Vec<u8>,
}

impl EventWriter {
    /// Opens (creating) a log for appending, repairing a torn last line and
    /// continuing its `seq`.
    pub fn open(path: &Path) -> Result<Self, EventError> {
        let err = |action| {
            let path = path.to_path_buf();
            move |source| EventError::Io { action, path, source }
        };
        let mut file =
            File::options().read(true).append(true).create(true).open(path).map_err(err("open"))?;
        let (valid_len, last_seq) = scan_tail(&mut file).map_err(err("read"))?;
        if valid_len != file.metadata().map_err(err("stat"))?.len() {
            file.set_len(valid_len).map_err(err("repair"))?;
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
            next_seq: last_seq.map_or(0, |s| s + 1),
            buf: Vec::with_capacity(256),
        })
    }

    /// The `seq` the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Appends one event with a single `write`, so a concurrent reader sees
    /// whole lines or nothing new.
    pub fn append(&mut self, body: EventBody) -> Result<Event, EventError> {
        let event = Event { seq: self.next_seq, ts: Timestamp::now(), body };
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
            }
            EventBody::Token { text } => self.output.push_str(text),
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
