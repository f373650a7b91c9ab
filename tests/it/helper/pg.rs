//! A schema of its own in the test database (`CTL_TEST_DATABASE_URL`), for
//! one test, dropped afterwards.

/// The test database's URL, if one is set.
pub fn base_url() -> Option<String> {
    std::env::var("CTL_TEST_DATABASE_URL").ok().filter(|u| !u.trim().is_empty())
}

/// A fresh schema; [`Schema::url`] points a backend at it.
pub struct Schema {
    base: String,
    pub name: String,
    rt: tokio::runtime::Runtime,
}

impl Schema {
    /// A new schema, or `None` (with a note on stderr) when no test
    /// database is set. CI sets one, and `.ci/run` fails when it is not
    /// reachable.
    pub fn new() -> Option<Self> {
        let Some(base) = base_url() else {
            eprintln!("CTL_TEST_DATABASE_URL is not set: this PostgreSQL test did not run");
            return None;
        };
        Some(Self::on(base))
    }

    /// A new schema in the database at `base`.
    pub fn on(base: String) -> Self {
        let name = format!("t_{}", ctl::queue::new_id().to_ascii_lowercase());
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let schema = Self { base, name, rt };
        schema.sql(&format!("CREATE SCHEMA {}", schema.name));
        schema
    }

    /// The URL of the test database with this schema as its search path
    /// (and as the connections' application name, so a test can find them).
    pub fn url(&self) -> String {
        let sep = if self.base.contains('?') { '&' } else { '?' };
        format!("{}{sep}options=-c%20search_path%3D{}&application_name={}", self.base, self.name, self.name)
    }

    /// Terminates every backend connection of this schema's users (the
    /// database side of a network failure); returns how many.
    pub fn terminate_backends(&self) -> usize {
        let n = self.text(&format!(
            "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity WHERE application_name = '{}'",
            self.name
        ));
        n.and_then(|n| n.parse().ok()).unwrap_or(0)
    }

    /// Runs SQL (as the test database's user, schema-qualify names).
    pub fn sql(&self, sql: &str) {
        let (url, sql) = (self.base.clone(), sql.to_owned());
        self.rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL at CTL_TEST_DATABASE_URL is not reachable: {e}"));
            let driver = tokio::spawn(conn);
            client.batch_execute(&sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            drop(client);
            let _ = driver.await;
        });
    }

    /// The first column of the first row of a query, as text.
    pub fn text(&self, sql: &str) -> Option<String> {
        let (url, sql) = (self.base.clone(), sql.to_owned());
        self.rt.block_on(async move {
            let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
            let driver = tokio::spawn(conn);
            let row = client.query_opt(&sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
            drop(client);
            let _ = driver.await;
            row.and_then(|r| r.get::<_, Option<String>>(0))
        })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.sql(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// A PostgreSQL server of the test's own (`initdb` into a temporary
/// directory, on a free loopback port), for tests that stop and restart
/// the database: the shared test server must stay up for the others.
pub struct Cluster {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    pub port: u16,
}

impl Cluster {
    /// Creates and starts the server (as the `postgres` user when the tests
    /// run as root, which `initdb` refuses).
    pub fn start() -> Self {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .find(|b| b.join("initdb").is_file())
            .expect("PostgreSQL's server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin");
        let dir = tempfile::Builder::new().prefix("ctl-pg-").tempdir().unwrap();
        if rustix::process::geteuid().is_root() {
            let uid = nix_id("-u");
            let gid = nix_id("-g");
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid)).unwrap();
        }
        let port = super::llm::free_port();
        let cluster = Self { dir, bin, port };
        let data = cluster.data();
        cluster.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
        cluster.start_again();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_str().unwrap().to_owned()
    }

    /// Runs one of the server's programs, as `postgres` when root.
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut cmd = if rustix::process::geteuid().is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            std::process::Command::new(&path)
        };
        let out = cmd.args(args).current_dir(self.dir.path()).output().unwrap();
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it takes connections.
    pub fn start_again(&self) {
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c max_connections=60",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        self.run("pg_ctl", &["-D", &self.data(), "-o", &opts, "-l", log.to_str().unwrap(), "-w", "start"]);
    }

    /// Stops the server the way a crash does (`-m immediate`: no checkpoint,
    /// every connection cut), so the next start runs crash recovery.
    pub fn crash(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "immediate", "-w", "stop"]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut cmd = if rustix::process::geteuid().is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            std::process::Command::new(&path)
        };
        let _ = cmd.args(["-D", &data, "-m", "immediate", "-w", "stop"]).output();
    }
}

/// The `postgres` user's uid or gid (`id -u postgres`).
fn nix_id(flag: &str) -> u32 {
    let out = std::process::Command::new("id").args([flag, "postgres"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a postgres user")
}
