//! The `ctl` binary: parse, set up logging and the runtime, run, exit.

use clap::{CommandFactory, FromArgMatches};

fn main() {
    // Inside run_code's sandbox this binary is the helper that applies the
    // limits (it is bound there under another name); see ctl::tools::sandbox.
    if let Some(code) = ctl::tools::sandbox::helper_main() {
        std::process::exit(code);
    }
    let matches = ctl::cli::Cli::command().get_matches();
    let cli = match ctl::cli::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let telemetry = ctl::telemetry::init(&ctl::telemetry::Options {
        verbose: cli.global.verbose,
        log_format: cli.global.log_format,
        config: cli.global.config.clone(),
        command: matches.subcommand_name().unwrap_or("ctl").to_owned(),
    });
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
            eprintln!("error: {}", ctl::secrets::redact(&one_line(&e)));
            1
        }
    };
    // Don't wait for lingering blocking tasks (a stdin read, a watcher).
    runtime.shutdown_background();
    telemetry.shutdown();
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
