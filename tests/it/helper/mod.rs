//! Fixtures: a data directory in a TempDir, a config pointing at the real
//! test LLM server, and the `ctl` binary driven the way a user drives it.

pub mod http;
pub mod llm;
pub mod mcp;
pub mod otlp;
pub mod pg;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;
use tempfile::TempDir;

/// One isolated installation: its own data directory and config.
pub struct Env {
    pub dir: TempDir,
    pub home: PathBuf,
    pub config: PathBuf,
    vars: Vec<(String, String)>,
}

impl Env {
    /// An installation whose default model is the real tiny model.
    pub fn new() -> Self {
        Self::with_provider_url(&llm::url())
    }

    /// An installation whose `local` provider points at `url` (e.g. a port
    /// where nothing listens).
    pub fn with_provider_url(url: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("home");
        let config = dir.path().join("ctl.toml");
        std::fs::write(
            &config,
            format!(
                "default_model = \"local:tiny\"\n\n[providers.local]\nkind = \"openai\"\nbase_url = \"{url}\"\n\
                 connect_timeout_secs = 2\nidle_timeout_secs = 20\n\n[worker]\nrescan_secs = 0.5\ngrace_secs = 5\n\
                 backoff_base_ms = 20\nbackoff_max_ms = 100\n"
            ),
        )
        .unwrap();
        Self { dir, home, config, vars: Vec::new() }
    }

    /// An installation for tests that need no model: its provider points
    /// at a port where nothing listens.
    pub fn without_model() -> Self {
        Self::with_provider_url("http://127.0.0.1:9/v1")
    }

    /// Appends TOML to the config file.
    pub fn configure(&self, toml: &str) {
        let mut text = std::fs::read_to_string(&self.config).unwrap();
        text.push('\n');
        text.push_str(toml);
        std::fs::write(&self.config, text).unwrap();
    }

    /// Sets an environment variable for every command this env runs.
    pub fn set(&mut self, key: &str, value: &str) {
        self.vars.push((key.to_owned(), value.to_owned()));
    }

    /// A `ctl` command bound to this installation.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ctl"));
        c.env("CTL_HOME", &self.home)
            .env("CTL_CONFIG", &self.config)
            .env_remove("CTL_LOG")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Runs `ctl ARGS` to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Runs `ctl ARGS`, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "ctl {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Submits a prompt; returns the job id.
    pub fn submit(&self, prompt: &str, extra: &[&str]) -> String {
        let path = self.dir.path().join(format!("prompt-{}.txt", rand_suffix()));
        std::fs::write(&path, prompt).unwrap();
        let mut args = vec!["submit"];
        args.extend_from_slice(extra);
        let p = path.to_str().unwrap().to_owned();
        args.push(&p);
        self.ok(&args).trim().to_owned()
    }

    /// Starts `ctl worker` in the background; killed on drop.
    pub fn worker(&self, extra_env: &[(&str, &str)]) -> Proc {
        let mut c = self.cmd();
        c.args(["worker", "-v"]).stdout(Stdio::null()).stderr(Stdio::piped());
        for (k, v) in extra_env {
            c.env(k, v);
        }
        let log = self.dir.path().join(format!("worker-{}.log", rand_suffix()));
        c.stderr(std::fs::File::create(&log).unwrap());
        Proc { child: c.spawn().unwrap(), log }
    }

    /// Starts `ctl serve` on a free port; killed on drop.
    pub fn serve(&self) -> Server {
        let mut c = self.cmd();
        c.args(["serve", "--listen", "127.0.0.1:0", "-v"]).stdout(Stdio::null());
        let log = self.dir.path().join(format!("serve-{}.log", rand_suffix()));
        c.stderr(std::fs::File::create(&log).unwrap());
        let proc = Proc { child: c.spawn().unwrap(), log };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = proc.log_text();
            if let Some(rest) = text.split("listening on ").nth(1) {
                let url = rest.lines().next().unwrap().trim().to_owned();
                return Server { proc, url };
            }
            assert!(Instant::now() < deadline, "ctl serve did not start:\n{text}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Starts `ctl up` on a free port; returns the server and the token
    /// from the login link it prints. Killed on drop.
    pub fn up(&self) -> (Server, String) {
        let mut c = self.cmd();
        c.args(["up", "--listen", "127.0.0.1:0", "-v"]).stdout(Stdio::piped());
        let log = self.dir.path().join(format!("up-{}.log", rand_suffix()));
        c.stderr(std::fs::File::create(&log).unwrap());
        let mut child = c.spawn().unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)
            .unwrap();
        let proc = Proc { child, log };
        let link =
            line.trim().strip_prefix("ctl is up: open ").unwrap_or_else(|| panic!("{line}")).to_owned();
        let (url, token) = link.split_once("/login?token=").unwrap_or_else(|| panic!("{link}"));
        (Server { proc, url: url.to_owned() }, token.to_owned())
    }

    /// Creates an API token and returns its secret.
    pub fn token(&self, name: &str) -> String {
        self.ok(&["token", "create", "--name", name]).trim().to_owned()
    }

    pub fn queue_dir(&self, name: &str) -> PathBuf {
        self.home.join("queue").join(name)
    }

    /// Job ids in a queue directory.
    pub fn ids_in(&self, name: &str) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(self.queue_dir(name))
            .map(|rd| {
                rd.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// `ctl show --json` as a JSON value.
    pub fn show(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["show", "--json", id])).unwrap()
    }

    /// Waits until the job is in a finished state (or panics after `secs`).
    pub fn wait_finished(&self, id: &str, secs: u64) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let v = self.show(id);
            if matches!(v["state"].as_str(), Some("completed" | "failed" | "cancelled")) {
                return v;
            }
            assert!(Instant::now() < deadline, "job {id} did not finish in {secs}s: {v}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a file to appear (e.g. a pause marker).
    pub fn wait_file(path: &Path, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if let Ok(s) = std::fs::read_to_string(path) {
                return s;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("{} did not appear in {secs}s", path.display());
    }

    /// Waits until the job's log has an event of type `kind`; on timeout
    /// the panic shows the worker's log.
    pub fn wait_event(&self, id: &str, kind: &str, secs: u64, worker: &Proc) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !self.events(id).iter().any(|e| e["type"] == kind) {
            assert!(
                Instant::now() < deadline,
                "no {kind} event for {id} in {secs}s\nevents: {:?}\nworker log:\n{}",
                self.events(id),
                worker.log_text()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The parsed event log of a job.
    pub fn events(&self, id: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.home.join("events").join(format!("{id}.ndjson")))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// A running `ctl serve` and its base URL.
pub struct Server {
    pub proc: Proc,
    pub url: String,
}

impl Server {
    /// `GET path` with a bearer token, from a synchronous test; the JSON body.
    pub fn get_json(&self, token: &str, path: &str) -> serde_json::Value {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            ctl::provider::install_crypto();
            let resp = reqwest::Client::new()
                .get(format!("{}{path}", self.url))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
            resp.json().await.unwrap()
        })
    }
}

/// A background `ctl` process, SIGKILLed on drop.
pub struct Proc {
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit (at most `secs`).
    pub fn terminate(&mut self, secs: u64) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "process did not exit after SIGTERM; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// An HTTP client that does not follow redirects.
pub fn client() -> reqwest::Client {
    ctl::provider::install_crypto();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// `POST path` with a JSON body and a bearer token: the status and the JSON body (null if none).
pub async fn post(srv: &Server, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let r = client().post(format!("{}{path}", srv.url)).bearer_auth(token).json(&body).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// `GET path` with a bearer token: the status and the JSON body (null if none).
pub async fn get(srv: &Server, token: &str, path: &str) -> (StatusCode, Value) {
    let r = client().get(format!("{}{path}", srv.url)).bearer_auth(token).send().await.unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}
