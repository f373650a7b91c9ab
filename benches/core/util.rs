//! What every benchmark shares: statistics, a data directory with its
//! config, `ctl` child processes that die with the benchmark, and reading
//! an HTTP body line by line.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ctl::config::Config;
use ctl::jobs::Local;
use futures_util::StreamExt;

/// A fixed-seed xorshift generator: the same numbers every run.
pub struct Rng(pub u64);

impl Rng {
    /// Uniform in [-0.5, 0.5).
    pub fn next(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        f64::from(self.next()) + 0.5
    }
}

pub fn median(v: &[f64]) -> f64 {
    percentile(v, 0.5)
}

/// Nearest-rank percentile (`p` in 0..=1) of a non-empty sample.
pub fn percentile(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

/// Milliseconds since `t0`.
pub fn ms_since(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64() * 1000.0
}

/// Where benchmark data directories go: `CTL_BENCH_DIR`, else
/// `target/bench/work` (the filesystem being measured).
pub fn work_root() -> PathBuf {
    let root =
        std::env::var_os("CTL_BENCH_DIR").map_or_else(|| PathBuf::from("target/bench/work"), PathBuf::from);
    std::fs::create_dir_all(&root).unwrap();
    root
}

/// A scratch directory under [`work_root`], removed on drop.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new().prefix("bench-").tempdir_in(work_root()).unwrap()
}

/// One installation: a data directory and a config whose default model is
/// `provider:model` on an OpenAI-compatible server at `url`.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
    pub config: PathBuf,
    /// Environment every `ctl` of this installation gets (e.g. `CTL_DATABASE_URL`).
    pub vars: Vec<(String, String)>,
}

impl Env {
    /// `extra` is appended to the config (e.g. a `[worker]` table); the
    /// rest is ctl's defaults.
    pub fn new(url: &str, model: &str, extra: &str) -> Self {
        let dir = scratch();
        let home = dir.path().join("home");
        let config = dir.path().join("ctl.toml");
        std::fs::write(
            &config,
            format!(
                "default_model = \"bench:{model}\"\n\n[providers.bench]\nkind = \"openai\"\nbase_url = \"{url}\"\n\n{extra}"
            ),
        )
        .unwrap();
        Self { dir, home, config, vars: Vec::new() }
    }

    /// The data directory opened through the library, as `ctl submit` does.
    pub fn local(&self) -> Local {
        let config = Config::load(Some(&self.config), std::iter::empty()).unwrap();
        Local::open(self.home.clone(), config).unwrap()
    }

    /// A `ctl` command bound to this installation, with ctl's default
    /// logging. `CTL_BENCH_WRAP` (e.g. `strace -f -c -o /tmp/ctl.strace`)
    /// runs every `ctl` under a profiler; the RSS figures are then the
    /// profiler's.
    pub fn cmd(&self) -> Command {
        let ctl = env!("CARGO_BIN_EXE_ctl");
        let wrap = std::env::var("CTL_BENCH_WRAP").unwrap_or_default();
        let mut words = wrap.split_whitespace();
        let mut c = match words.next() {
            Some(first) => {
                let mut c = Command::new(first);
                c.args(words).arg(ctl);
                c
            }
            None => Command::new(ctl),
        };
        c.env("CTL_HOME", &self.home)
            .env("CTL_CONFIG", &self.config)
            .env_remove("CTL_LOG")
            .env_remove("RUST_LOG")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .stdin(Stdio::null());
        if let Some(url) = trace_endpoint() {
            c.env("OTEL_EXPORTER_OTLP_ENDPOINT", url);
        }
        c.envs(self.vars.iter().map(|(k, v)| (k, v)));
        c
    }

    fn log(&self, name: &str) -> std::fs::File {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::fs::File::create(self.dir.path().join(format!("{name}-{n}.log"))).unwrap()
    }

    /// Spawns `ctl worker ARGS` without waiting for it.
    pub fn spawn_worker(&self, args: &[&str]) -> Proc {
        let child =
            self.cmd().arg("worker").args(args).stdout(Stdio::null()).stderr(self.log("worker")).spawn();
        Proc::ctl(child.unwrap())
    }

    /// Starts `ctl worker ARGS` and waits until it holds its lock and has
    /// had a moment to set up its watch and first recovery pass.
    pub fn worker(&self, args: &[&str]) -> Proc {
        let before = live_locks(&self.home);
        let mut proc = self.spawn_worker(args);
        let deadline = Instant::now() + Duration::from_secs(20);
        while live_locks(&self.home) <= before {
            assert!(
                proc.0.try_wait().unwrap().is_none(),
                "ctl worker exited at start; see {}",
                self.dir.path().display()
            );
            assert!(Instant::now() < deadline, "ctl worker did not start");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(200));
        proc
    }

    /// Starts `ctl serve` on a free port; returns it and its base URL.
    pub fn serve(&self) -> (Proc, String) {
        let log = self.dir.path().join("serve.log");
        let child = self
            .cmd()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let proc = Proc::ctl(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("listening on ").nth(1)
                && let Some(url) = rest.lines().next()
            {
                return (proc, url.trim().to_owned());
            }
            assert!(Instant::now() < deadline, "ctl serve did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// `ctl token create`: a bearer token for the API.
    pub fn token(&self) -> String {
        let out = self.cmd().args(["token", "create", "--name", "bench"]).output().unwrap();
        assert!(out.status.success(), "ctl token create: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    pub fn queue_dir(&self, name: &str) -> PathBuf {
        self.home.join("queue").join(name)
    }
}

/// Worker lock files (`workers/<id>.lock`) present now.
fn live_locks(home: &Path) -> usize {
    std::fs::read_dir(home.join("workers")).map_or(0, |rd| {
        rd.filter_map(Result::ok)
            .filter(|e| Path::new(&e.file_name()).extension().is_some_and(|x| x == "lock"))
            .count()
    })
}

static TRACE_TO: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Makes every `ctl` started from now on export traces to `url` (an OTLP
/// HTTP receiver), or to nowhere with `None`.
pub fn set_trace_endpoint(url: Option<String>) {
    *TRACE_TO.lock().unwrap() = url;
}

fn trace_endpoint() -> Option<String> {
    TRACE_TO.lock().unwrap().clone()
}

/// A child process, SIGKILLed when dropped.
/// Under `CTL_BENCH_WRAP` the child is the profiler, and signals go to the
/// `ctl` it runs (its child), so the profiler can write its report.
pub struct Proc(pub Child, bool);

impl Proc {
    pub fn new(child: Child) -> Self {
        Self(child, false)
    }

    /// A `ctl` started by [`Env::cmd`], which may sit under `CTL_BENCH_WRAP`.
    pub fn ctl(child: Child) -> Self {
        Self(child, std::env::var_os("CTL_BENCH_WRAP").is_some_and(|w| !w.is_empty()))
    }

    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// The processes to signal: the child, or the `ctl`s its profiler runs.
    fn targets(&self) -> Vec<String> {
        let pid = self.0.id();
        if !self.1 {
            return vec![pid.to_string()];
        }
        std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    fn signal(&mut self, sig: &str) {
        for pid in self.targets() {
            let _ = Command::new("kill").args([sig, &pid]).status();
        }
    }

    /// SIGTERM, then wait for the exit.
    pub fn terminate(mut self) {
        self.signal("-TERM");
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.1 {
            self.signal("-KILL");
            // The profiler exits once its child is gone; give it a moment.
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.0.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// VmRSS of a process, in MB.
pub fn rss_mb(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap();
    kb / 1024.0
}

/// An HTTP client for loopback benchmarks (no proxy, no timeouts).
pub fn http_client() -> reqwest::Client {
    ctl::provider::install_crypto();
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Feeds a response body to `f` one line at a time (without the `\n`,
/// lines split across chunks joined) until the body ends or `f` says stop.
pub async fn for_each_line(resp: reqwest::Response, mut f: impl FnMut(&[u8]) -> bool) {
    let mut body = resp.bytes_stream();
    let mut carry: Vec<u8> = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        let mut rest = &chunk[..];
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            let go = if carry.is_empty() {
                f(trim_cr(&rest[..nl]))
            } else {
                carry.extend_from_slice(&rest[..nl]);
                let go = f(trim_cr(&carry));
                carry.clear();
                go
            };
            if !go {
                return;
            }
            rest = &rest[nl + 1..];
        }
        carry.extend_from_slice(rest);
    }
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Blocks until `cond` holds, polling every `every`; panics after `secs`.
pub fn wait_until(what: &str, secs: u64, every: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(every);
    }
}

/// Nanoseconds since the epoch on the system clock, the clock event `ts`
/// fields use, so the two can be subtracted.
pub fn now_ns() -> i128 {
    jiff::Timestamp::now().as_nanosecond()
}
