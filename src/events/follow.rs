//! Following a log as it grows: what `ctl tail` (and later SSE) read from.
//!
//! Wake-ups come from inotify (via `notify`) with a slow poll as a safety
//! net, so a follower sees a new line within milliseconds without spinning.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use notify::Watcher;
use tokio::sync::Notify;

use super::{EventError, LineDecoder};
use crate::api::Event;

/// Reads the events appended to a log since the last call.
///
/// A job's log is created by its first owner, not by submit (see
/// [`super`]). While a job's log does not exist or is still empty, the
/// follower yields the event it will start with, the job's implied `queued`
/// event (seq 0), once; when the log's own seq 0 arrives it is not yielded
/// again. So a reader sees the same events, with the same `seq`s, whether
/// it came before or after the log was created.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    /// The job id, from the log's name (`<id>.ndjson`).
    id: Option<String>,
    file: Option<File>,
    offset: u64,
    decoder: LineDecoder,
    after: Option<u64>,
    last_terminal: bool,
}

impl Follower {
    /// Follows `path` (a job's log, `<id>.ndjson`), yielding only events
    /// with `seq` greater than `after`.
    pub fn new(path: PathBuf, after: Option<u64>) -> Self {
        let id = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".ndjson"))
            .filter(|id| crate::queue::valid_id(id))
            .map(str::to_owned);
        Self { path, id, file: None, offset: 0, decoder: LineDecoder::default(), after, last_terminal: false }
    }

    /// The implied `queued` event, the first time the log is found missing
    /// or empty and the reader has not seen seq 0 yet.
    fn implied(&mut self) -> Vec<Event> {
        match (&self.id, self.after) {
            (Some(id), None) => {
                self.after = Some(0);
                vec![super::implied_queued(id)]
            }
            _ => Vec::new(),
        }
    }

    /// True when the newest event read so far ends the job.
    pub fn at_terminal(&self) -> bool {
        self.last_terminal
    }

    /// Complete events appended since the last call (none if the log does
    /// not exist yet).
    pub fn read_new(&mut self) -> Result<Vec<Event>, EventError> {
        let err = |action: &'static str, path: &Path| {
            let path = path.to_path_buf();
            move |source| EventError::Io { action, path, source }
        };
        if self.file.is_none() {
            match File::open(&self.path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(self.implied()),
                Err(e) => return Err(err("open", &self.path)(e)),
            }
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(Vec::new());
        };
        let len = file.metadata().map_err(err("stat", &self.path))?.len();
        if len == 0 && self.offset == 0 {
            // Created, but its owner has not written the first event yet.
            return Ok(self.implied());
        }
        if len < self.offset {
            // Only a writer repairing a torn line shrinks a log; re-read the tail.
            self.offset = len;
        }
        if len == self.offset {
            return Ok(Vec::new());
        }
        let mut buf = Vec::with_capacity((len - self.offset) as usize);
        file.seek(SeekFrom::Start(self.offset)).map_err(err("seek", &self.path))?;
        file.take(len - self.offset).read_to_end(&mut buf).map_err(err("read", &self.path))?;
        self.offset += buf.len() as u64;
        let mut events = Vec::new();
        self.decoder.push(&buf, &mut events);
        if let Some(last) = events.last() {
            self.last_terminal = last.body.terminal_state().is_some();
        }
        if let Some(after) = self.after {
            events.retain(|e| e.seq > after);
        }
        Ok(events)
    }
}

struct State {
    follower: Follower,
    queue: VecDeque<Event>,
    wake: Arc<Notify>,
    _watch: Option<Box<dyn Send + Sync>>,
    done: bool,
}

/// How often a follower looks even when inotify said nothing.
const POLL: Duration = Duration::from_millis(500);

/// Streams a job's events after `after` (all when `None`), waiting for new
/// ones, and ends once it has caught up with a terminal event. Uses its own
/// inotify watch; a server with many followers shares one through [`Hub`].
pub fn follow(path: PathBuf, after: Option<u64>) -> BoxStream<'static, Result<Event, EventError>> {
    let wake = Arc::new(Notify::new());
    let watcher = watch(&path, wake.clone()).map(|w| Box::new(w) as Box<dyn Send + Sync>);
    stream(Follower::new(path, after), wake, watcher)
}

fn stream(
    follower: Follower,
    wake: Arc<Notify>,
    guard: Option<Box<dyn Send + Sync>>,
) -> BoxStream<'static, Result<Event, EventError>> {
    let state = State { follower, queue: VecDeque::new(), wake, _watch: guard, done: false };
    futures_util::stream::unfold(state, |mut st| async move {
        loop {
            if let Some(ev) = st.queue.pop_front() {
                return Some((Ok(ev), st));
            }
            if st.done {
                return None;
            }
            // Register for a wake-up before looking, so a write that lands
            // between the look and the wait is not missed.
            let wake = st.wake.clone();
            let notified = wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            match st.follower.read_new() {
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
                Ok(events) if events.is_empty() => {
                    if st.follower.at_terminal() {
                        return None;
                    }
                    tokio::select! {
                        () = &mut notified => {}
                        () = tokio::time::sleep(POLL) => {}
                    }
                }
                Ok(events) => st.queue.extend(events),
            }
        }
    })
    .boxed()
}

/// Watches the log (or its directory while it does not exist yet). Without
/// inotify the poll still works, only slower.
fn watch(path: &Path, wake: Arc<Notify>) -> Option<notify::RecommendedWatcher> {
    let mut watcher =
        notify::recommended_watcher(move |_res: notify::Result<notify::Event>| wake.notify_waiters()).ok()?;
    let target = if path.exists() { path } else { path.parent()? };
    watcher.watch(target, notify::RecursiveMode::NonRecursive).ok()?;
    Some(watcher)
}

/// One inotify watch on the events directory, shared by every follower in
/// a process (a server with hundreds of SSE clients would otherwise need an
/// inotify instance and a thread for each).
pub struct Hub {
    dir: PathBuf,
    wakers: Arc<Mutex<HashMap<OsString, Weak<Notify>>>>,
    _watcher: Option<notify::RecommendedWatcher>,
}

impl Hub {
    pub fn new(dir: PathBuf) -> Arc<Self> {
        let wakers: Arc<Mutex<HashMap<OsString, Weak<Notify>>>> = Arc::default();
        let map = wakers.clone();
        let watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
            let Ok(ev) = res else { return };
            let map = map.lock().unwrap_or_else(PoisonError::into_inner);
            for name in ev.paths.iter().filter_map(|p| p.file_name()) {
                if let Some(n) = map.get(name).and_then(Weak::upgrade) {
                    n.notify_waiters();
                }
            }
        })
        .and_then(|mut w| w.watch(&dir, notify::RecursiveMode::NonRecursive).map(|()| w))
        .map_err(|e| tracing::warn!("no inotify on {}, followers poll: {e}", dir.display()))
        .ok();
        Arc::new(Self { dir, wakers, _watcher: watcher })
    }

    /// Like [`follow`], for the job whose log is `<dir>/<id>.ndjson`.
    pub fn follow(&self, id: &str, after: Option<u64>) -> BoxStream<'static, Result<Event, EventError>> {
        let name = OsString::from(format!("{id}.ndjson"));
        let path = self.dir.join(&name);
        let wake = {
            let mut map = self.wakers.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() > 1024 {
                map.retain(|_, w| w.strong_count() > 0);
            }
            if let Some(n) = map.get(&name).and_then(Weak::upgrade) {
                n
            } else {
                let n = Arc::new(Notify::new());
                map.insert(name, Arc::downgrade(&n));
                n
            }
        };
        stream(Follower::new(path, after), wake, None)
    }
}
