//! The `ctl` binary: parse, set up logging and the runtime, run, exit.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    // Inside run_code's sandbox this binary is the helper that applies the
    // limits (it is bound there under another name); see ctl::tools::sandbox.
    if let Some(code) = ctl::tools::sandbox::helper_main() {
        std::process::exit(code);
    }
    let cli = ctl::cli::Cli::parse();
    init_tracing(cli.global.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = match runtime.block_on(cli.run()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            1
        }
    };
    // Don't wait for lingering blocking tasks (a stdin read, a watcher).
    runtime.shutdown_background();
    std::process::exit(code);
}

/// `error: outer: inner: root cause` on one line.
fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ").replace('\n', " ")
}

/// Logs go to stderr; `CTL_LOG` (or `RUST_LOG`) overrides the -v level, and
/// `CTL_LOG_FORMAT=json` switches to JSON lines.
fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var("CTL_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::env::var("CTL_LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init();
    }
}
