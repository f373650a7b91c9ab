//! `ctl tools` driven as a user would, and the sandbox matrix of
//! `run_code`: each attack is contained and reported.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helper::Env;

/// An installation with a vault (`notes/a.md`, `notes/big.md`) and `extra`
/// config.
fn env(extra: &str) -> Env {
    let env = Env::without_model();
    let vault = env.dir.path().join("vault");
    std::fs::create_dir_all(vault.join("notes")).unwrap();
    std::fs::write(vault.join("notes/a.md"), "# A\nThe alpha note.\nIt mentions flock twice: flock.\n")
        .unwrap();
    let big = (1..=5000).fold(String::new(), |mut s, i| {
        let _ = writeln!(s, "line {i}");
        s
    });
    std::fs::write(vault.join("notes/big.md"), big).unwrap();
    env.configure(&format!("[rag]\nvault = \"{}\"\n{extra}", vault.display()));
    env
}

/// `ctl --json tools call NAME --args JSON`: (exit code, stdout JSON or null, stderr).
fn call(env: &Env, name: &str, args: &Value) -> (i32, Value, String) {
    let out = env.run(&["--json", "tools", "call", name, "--args", &args.to_string()]);
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap_or(-1), json, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs Python in the sandbox; the report (`structured`) and the text.
fn run_code(env: &Env, code: &str) -> (Value, String) {
    let (code_, out, err) = call(env, "run_code", &serde_json::json!({ "code": code }));
    assert_eq!(code_, 0, "run_code failed: {err}");
    (out["structured"].clone(), out["text"].as_str().unwrap_or_default().to_owned())
}

#[test]
fn tools_list_shows_the_enabled_tools_with_schemas_and_traits() {
    let env = env("");
    let tools: Vec<Value> = serde_json::from_str(&env.ok(&["--json", "tools", "list"])).unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["fetch", "run_code", "skill_read", "vault_list", "vault_read", "vault_search"]);
    let fetch = &tools[0];
    assert_eq!(
        fetch["traits"],
        serde_json::json!({"read_only": true, "private": false, "untrusted": true, "egress": true})
    );
    assert_eq!(fetch["input_schema"]["required"], serde_json::json!(["url"]));
    assert_eq!(fetch["limits"]["timeout_secs"], 30.0);
    let table = env.ok(&["tools", "list"]);
    assert!(table.contains("vault_read") && table.contains("read-only, private"), "{table}");
}

#[test]
fn vault_tools_read_list_and_search_and_refuse_escapes() {
    let env = env("");
    assert_eq!(
        env.ok(&["tools", "call", "vault_read", "--arg", "path=notes/a.md"]).lines().nth(1),
        Some("The alpha note.")
    );
    let (_, out, _) = call(
        &env,
        "vault_read",
        &serde_json::json!({"path": "notes/big.md", "start_line": 10, "end_line": 12}),
    );
    assert_eq!(out["text"], "line 10\nline 11\nline 12\n");
    let list = env.ok(&["tools", "call", "vault_list", "--arg", "recursive=true"]);
    assert_eq!(list, "notes/\nnotes/a.md (52 bytes)\nnotes/big.md (48893 bytes)\n");
    let (_, out, _) = call(&env, "vault_search", &serde_json::json!({"query": "FLOCK"}));
    assert_eq!(out["structured"]["search"], "literal");
    assert_eq!(out["structured"]["hits"][0]["line"], 3);

    std::os::unix::fs::symlink("/etc/passwd", env.dir.path().join("vault/notes/passwd.md")).unwrap();
    for path in ["../ctl.toml", "/etc/passwd", "notes/passwd.md"] {
        let (code, _, err) = call(&env, "vault_read", &serde_json::json!({ "path": path }));
        assert_eq!(code, 1, "{path}");
        assert!(err.starts_with("error: vault_read: refused:") && !err.contains("root:"), "{path}: {err}");
    }
    // Every call was recorded, by the CLI.
    let db = rusqlite::Connection::open(env.home.join("ctl.db")).unwrap();
    let rows: Vec<(String, String, String)> = db
        .prepare("SELECT tool, outcome, source FROM tool_calls ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 7);
    assert!(rows.iter().all(|(_, _, source)| source == "cli"));
    assert_eq!(rows.iter().filter(|(_, o, _)| o == "refused").count(), 3);
}

#[test]
fn fetch_from_the_command_line_is_refused_until_loopback_is_allowed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for mut sock in listener.incoming().flatten() {
            let mut buf = [0u8; 2048];
            let _ = sock.read(&mut buf);
            let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 23\r\n\r\n<h2>LAN wiki page</h2>\n");
        }
    });
    let url = format!("url=http://localhost:{port}/");
    let closed = env("");
    let out = closed.run(&["tools", "call", "fetch", "--arg", &url]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("a loopback address") && err.contains("allow_private"), "{err}");
    let open = env("[tools.fetch]\nallow_private = [\"127.0.0.0/8\", \"::1/128\"]\n");
    assert!(open.ok(&["tools", "call", "fetch", "--arg", &url]).contains("## LAN wiki page"));
}

#[test]
fn bad_tool_calls_are_one_line_errors() {
    let env = env("");
    for (args, want) in [
        (vec!["tools", "call", "nope"], "no tool named \"nope\""),
        (vec!["tools", "call", "vault_read"], "missing field `path`"),
        (vec!["tools", "call", "vault_read", "--arg", "path"], "is not KEY=VALUE"),
        (vec!["tools", "call", "run_code", "--args", "{"], "--args is not JSON"),
    ] {
        let out = env.run(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
}

// The sandbox matrix.

#[test]
fn sandbox_code_runs_and_reports_its_exit() {
    let env = env("");
    let (r, text) = run_code(&env, "import sys; print('hello'); print('oops', file=sys.stderr); sys.exit(3)");
    assert_eq!((r["ended"].as_str(), r["exit_code"].as_i64()), (Some("exit"), Some(3)));
    assert_eq!(r["stdout"], "hello\n");
    assert_eq!(r["stderr"], "oops\n");
    assert_eq!(r["landlock"], "full", "this kernel has landlock");
    assert!(text.starts_with("[exit code 3;"), "{text}");
    let (_, out, _) = call(
        &env,
        "run_code",
        &serde_json::json!({"language": "sh", "code": "read x; echo got $x; id -u", "stdin": "42\n"}),
    );
    assert_eq!(out["structured"]["stdout"], "got 42\n65534\n");
}

#[test]
fn sandbox_has_no_network() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let env = env("");
    let (r, _) = run_code(
        &env,
        &format!(
            "import socket\n\
             for target in [('127.0.0.1', {port}), ('1.1.1.1', 53)]:\n\
             \x20   try:\n\
             \x20       socket.create_connection(target, timeout=2); print('connected', target)\n\
             \x20   except OSError as e: print('blocked', target[1], e.errno)\n\
             try:\n\
             \x20   socket.getaddrinfo('example.com', 80); print('resolved')\n\
             except OSError: print('no dns')\n\
             print(open('/proc/net/dev').read().count(':'))"
        ),
    );
    let out = r["stdout"].as_str().unwrap();
    assert!(!out.contains("connected") && !out.contains("resolved"), "{out}");
    assert!(out.contains(&format!("blocked {port}")) && out.contains("no dns"), "{out}");
    assert_eq!(out.lines().last(), Some("1"), "only the loopback interface exists: {out}");
    assert!(listener.accept().is_err(), "the host listener was reached");
}

#[test]
fn sandbox_cannot_read_host_secrets_or_the_workers_environment() {
    let mut env = env("");
    env.set("CTL_TEST_SECRET_TOKEN", "sk-very-secret");
    let secret = env.dir.path().join("secret.txt");
    std::fs::write(&secret, "host secret").unwrap();
    let (r, _) = run_code(
        &env,
        &format!(
            "import os\n\
             for p in ['{}', '{}', '/etc/shadow', '/root/.ssh', '/etc/passwd', '/home']:\n\
             \x20   try:\n\
             \x20       print('READ', p, open(p).read()[:20])\n\
             \x20   except OSError as e: print('denied', p, type(e).__name__)\n\
             print('ENV', sorted(os.environ))\n\
             try:\n\
             \x20   print('PROC1', open('/proc/1/environ').read().count('SECRET'))\n\
             except OSError: print('PROC1 denied')\n\
             print('PIDS', sorted(int(p) for p in os.listdir('/proc') if p.isdigit())[:5])",
            secret.display(),
            env.home.join("ctl.db").display(),
        ),
    );
    let out = r["stdout"].as_str().unwrap();
    assert!(!out.contains("READ") && !out.contains("sk-very-secret"), "{out}");
    assert!(
        out.contains(
            "ENV ['HOME', 'LANG', 'PATH', 'PWD', 'PYTHONDONTWRITEBYTECODE', 'PYTHONUNBUFFERED', 'TMPDIR']"
        ),
        "{out}"
    );
    assert!(out.contains("PROC1 0") || out.contains("PROC1 denied"), "{out}");
    // A new pid namespace: only the sandbox's own processes are visible.
    let pids = out.lines().find(|l| l.starts_with("PIDS")).unwrap();
    assert!(pids.starts_with("PIDS [1, 2"), "{pids}");
}

#[test]
fn sandbox_cannot_write_outside_its_work_directory() {
    let env = env("");
    let marker = env.dir.path().join("written-by-sandbox");
    let (r, _) = run_code(
        &env,
        &format!(
            "import os\n\
             for p in ['/usr/x', '/x', '/etc/x', '/run/ctl/x', '/proc/x', '{}', '/work/ok', '/tmp/ok']:\n\
             \x20   try:\n\
             \x20       open(p, 'w').write('x'); print('wrote', p)\n\
             \x20   except OSError as e: print('denied', p)\n\
             try:\n\
             \x20   open('/work/big', 'wb').write(b'x' * (80 * 1024 * 1024)); print('wrote big')\n\
             except OSError as e: print('big refused', e.errno)",
            marker.display()
        ),
    );
    let out = r["stdout"].as_str().unwrap();
    let wrote: Vec<&str> = out.lines().filter(|l| l.starts_with("wrote")).collect();
    assert_eq!(wrote, ["wrote /work/ok", "wrote /tmp/ok"], "{out}");
    assert!(!marker.exists());
    // 80 MiB passes neither the 16 MiB file limit nor the 64 MiB work directory.
    assert!(out.contains("big refused") || r["signal"] == 25, "{r}");
}

/// Processes on the host whose command line holds `needle`.
fn host_processes_with(needle: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(needle))
        .count()
}

#[test]
fn a_fork_bomb_is_contained_and_leaves_nothing_behind() {
    let env = env("[tools.run_code]\ntimeout_secs = 5\n");
    let started = Instant::now();
    let (r, _) = run_code(
        &env,
        "import os, time\n# forkbomb-marker-7351\nn = 0\nwhile True:\n    try:\n        os.fork(); n += 1\n    except OSError:\n        time.sleep(0.01)",
    );
    assert!(started.elapsed() < Duration::from_secs(20), "{:?}", started.elapsed());
    assert!(matches!(r["ended"].as_str(), Some("timeout" | "signal" | "exit")), "{r}");
    // The kernel tears the killed pid namespace down; on a busy machine
    // that takes a moment with many processes, never more.
    let deadline = Instant::now() + Duration::from_secs(30);
    while host_processes_with("forkbomb-marker-7351") > 0 {
        assert!(Instant::now() < deadline, "sandbox processes outlived the call by 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Regression: as root, bwrap mapped the sandbox's user to host root, and
/// the kernel never applies RLIMIT_NPROC to root, so a fork bomb was
/// bounded only by the clock (and filled the host's process table).
#[test]
fn the_process_limit_holds_even_when_ctl_runs_as_root() {
    assert!(rustix::process::geteuid().is_root(), "the tests run as root, like CI");
    let env = env("[tools.run_code]\nmax_processes = 32\n");
    let (r, _) = run_code(
        &env,
        "import os, time\nn = 0\nfor i in range(200):\n    try:\n        if os.fork() == 0:\n            time.sleep(1); os._exit(0)\n        n += 1\n    except OSError as e:\n        print('refused', e.errno); break\nprint('forked', n)",
    );
    let out = r["stdout"].as_str().unwrap();
    let forked: u32 = out.lines().last().unwrap().trim_start_matches("forked ").parse().unwrap();
    assert!(out.contains("refused 11") && forked < 32, "{out}");
}

#[test]
fn a_memory_bomb_ends_as_out_of_memory() {
    let env = env("[tools.run_code]\nmemory_mb = 256\n");
    let (r, text) = run_code(&env, "x = bytearray(1024 * 1024 * 1024)\nprint('allocated')");
    assert_eq!(r["ended"], "memory", "{r}");
    assert!(!r["stdout"].as_str().unwrap().contains("allocated"));
    assert!(text.starts_with("[out of memory (the limit is 256 MiB)"), "{text}");
}

#[test]
fn an_endless_loop_is_killed_at_the_time_limit_or_the_cpu_limit() {
    let env = env("[tools.run_code]\ntimeout_secs = 2\n");
    let started = Instant::now();
    let (r, _) = run_code(&env, "while True: pass");
    assert_eq!(r["ended"], "timeout", "{r}");
    assert!(started.elapsed() < Duration::from_secs(6), "{:?}", started.elapsed());
    let env = self::env("[tools.run_code]\ntimeout_secs = 20\ncpu_secs = 1\n");
    let (r, _) = run_code(&env, "while True: pass");
    assert_eq!((r["ended"].as_str(), r["signal"].as_i64()), (Some("cpu"), Some(24)), "{r}");
}

#[test]
fn endless_output_is_capped_and_ends_the_run() {
    let env = env("[tools.run_code]\nmax_stream_bytes = 100000\n");
    let started = Instant::now();
    let (r, _) = run_code(&env, "while True: print('y' * 1000)");
    assert_eq!(r["ended"], "output_limit", "{r}");
    assert_eq!(r["stdout"].as_str().unwrap().len(), 100_000);
    assert_eq!(r["stdout_truncated"], true);
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn setuid_binaries_give_no_privilege() {
    let env = env("");
    let (_, out, _) = call(
        &env,
        "run_code",
        &serde_json::json!({"language": "sh", "code":
            "grep -E '^(NoNewPrivs|CapEff)' /proc/self/status; su -c id root </dev/null 2>&1 | head -1; echo su=$?; \
             passwd -S root 2>&1 | head -1; id -u"}),
    );
    let stdout = out["structured"]["stdout"].as_str().unwrap();
    assert!(stdout.contains("NoNewPrivs:\t1") && stdout.contains("CapEff:\t0000000000000000"), "{stdout}");
    assert!(!stdout.contains("uid=0"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("65534"), "{stdout}");
}

#[test]
fn ptrace_and_signals_cannot_reach_outside_the_sandbox() {
    let env = env("");
    let mut sleeper = std::process::Command::new("sleep").arg("30").spawn().unwrap();
    let host_pid = sleeper.id();
    let (r, _) = run_code(
        &env,
        &format!(
            "import ctypes, os, signal\n\
             libc = ctypes.CDLL(None, use_errno=True)\n\
             for pid in [1, {host_pid}]:\n\
             \x20   print('ptrace', pid, libc.ptrace(16, pid, 0, 0), ctypes.get_errno())\n\
             for pid in [{host_pid}, os.getppid()]:\n\
             \x20   try:\n\
             \x20       os.kill(pid, signal.SIGKILL); print('killed', pid)\n\
             \x20   except OSError as e: print('kill refused', pid, e.errno)\n\
             print('still here')"
        ),
    );
    let out = r["stdout"].as_str().unwrap();
    assert!(out.contains("ptrace 1 -1") && out.contains(&format!("ptrace {host_pid} -1")), "{out}");
    assert!(out.contains(&format!("kill refused {host_pid}")), "{out}");
    assert!(sleeper.try_wait().unwrap().is_none(), "a host process was signalled");
    // Killing its own parent (the helper) ends the sandbox, and is reported.
    assert!(matches!(r["ended"].as_str(), Some("signal" | "exit")), "{r}");
    let _ = sleeper.kill();
    let _ = sleeper.wait();
}

#[test]
fn without_bubblewrap_code_is_refused_never_run_unsandboxed() {
    let env = env("[tools.run_code]\nbwrap = \"/nonexistent/bwrap\"\n");
    let marker = env.dir.path().join("ran-unsandboxed");
    let (code, _, err) = call(
        &env,
        "run_code",
        &serde_json::json!({"code": format!("open('{}', 'w').write('x')", marker.display())}),
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("refused") && err.contains("bubblewrap") && err.contains("never runs unsandboxed"),
        "{err}"
    );
    assert!(!marker.exists());
}
