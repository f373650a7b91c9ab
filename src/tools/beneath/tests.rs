//! The path matrix: every escape the reference servers' CVEs used, run
//! against both resolution methods.

use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

const SECRET: &str = "TOP-SECRET-OUTSIDE";

/// `tmp/vault` with notes, and beside it `tmp/outside/secret` and the
/// prefix sibling `tmp/vault_evil/secret`.
fn fixture() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("vault");
    std::fs::create_dir_all(vault.join("notes/deep")).unwrap();
    std::fs::write(vault.join("notes/a.md"), "# A\nalpha line\n").unwrap();
    std::fs::write(vault.join("notes/deep/b.md"), "# B\nbeta\n").unwrap();
    std::fs::write(vault.join(".hidden.md"), "hidden").unwrap();
    for dir in ["outside", "vault_evil"] {
        std::fs::create_dir_all(tmp.path().join(dir)).unwrap();
        std::fs::write(tmp.path().join(dir).join("secret"), SECRET).unwrap();
    }
    tmp
}

fn both(f: impl Fn(Method, &Path)) {
    for method in [Method::Openat2, Method::Walk] {
        let tmp = fixture();
        f(method, tmp.path());
    }
}

fn read(root: &Root, rel: &str) -> Result<String, BeneathError> {
    let (mut f, _) = root.open_file(rel)?;
    let mut s = String::new();
    f.read_to_string(&mut s).unwrap();
    Ok(s)
}

fn refused(r: Result<String, BeneathError>, what: &str) {
    match r {
        Ok(text) => panic!("{what}: read {text:?}"),
        Err(e) => assert!(!e.to_string().contains(SECRET), "{what}: {e}"),
    }
}

#[test]
fn openat2_is_available_on_this_kernel() {
    assert_eq!(Method::best(), Method::Openat2);
}

#[test]
fn a_note_inside_reads() {
    both(|m, tmp| {
        let root = Root::open_with(&tmp.join("vault"), m).unwrap();
        assert_eq!(read(&root, "notes/a.md").unwrap(), "# A\nalpha line\n");
        assert_eq!(read(&root, "./notes//deep/b.md").unwrap(), "# B\nbeta\n");
    });
}

#[test]
fn dot_dot_is_refused() {
    both(|m, tmp| {
        let root = Root::open_with(&tmp.join("vault"), m).unwrap();
        for rel in ["../outside/secret", "notes/../../outside/secret", "notes/.."] {
            let err = read(&root, rel).unwrap_err();
            assert!(err.to_string().contains("`..` is refused"), "{rel}: {err}");
        }
    });
}

#[test]
fn absolute_paths_are_refused() {
    both(|m, tmp| {
        let root = Root::open_with(&tmp.join("vault"), m).unwrap();
        let abs = tmp.join("outside/secret");
        for rel in ["/etc/passwd", abs.to_str().unwrap()] {
            let err = read(&root, rel).unwrap_err();
            assert!(err.to_string().contains("absolute paths are refused"), "{rel}: {err}");
        }
    });
}

#[test]
fn symlinks_out_are_refused() {
    both(|m, tmp| {
        let vault = tmp.join("vault");
        symlink(tmp.join("outside/secret"), vault.join("abs-link.md")).unwrap();
        symlink("../outside/secret", vault.join("rel-link.md")).unwrap();
        symlink(tmp.join("outside"), vault.join("dir-link")).unwrap();
        symlink("/etc", vault.join("etc")).unwrap();
        let root = Root::open_with(&vault, m).unwrap();
        for rel in ["abs-link.md", "rel-link.md", "dir-link/secret", "etc/passwd"] {
            refused(read(&root, rel), rel);
        }
        assert!(root.open_dir("dir-link").is_err());
    });
}

#[test]
fn symlinks_inside_are_not_followed_either() {
    both(|m, tmp| {
        let vault = tmp.join("vault");
        symlink("notes/a.md", vault.join("alias.md")).unwrap();
        let root = Root::open_with(&vault, m).unwrap();
        let err = read(&root, "alias.md").unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
    });
}

#[test]
fn a_prefix_sibling_is_not_inside() {
    both(|m, tmp| {
        let vault = tmp.join("vault");
        symlink(tmp.join("vault_evil"), vault.join("evil")).unwrap();
        let root = Root::open_with(&vault, m).unwrap();
        let sibling = format!("{}_evil/secret", vault.display());
        for rel in ["../vault_evil/secret", sibling.as_str(), "evil/secret"] {
            refused(read(&root, rel), rel);
        }
    });
}

#[test]
fn fifos_devices_and_sockets_are_refused_without_blocking() {
    both(|m, tmp| {
        let vault = tmp.join("vault");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            vault.join("pipe.md"),
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // A copy of /dev/zero: reading it would never end. (Tests run as root.)
        rustix::fs::mknodat(
            rustix::fs::CWD,
            vault.join("zero.md"),
            FileType::CharacterDevice,
            Mode::from_raw_mode(0o644),
            rustix::fs::makedev(1, 5),
        )
        .expect("mknod of a character device (the tests run as root)");
        let _sock = std::os::unix::net::UnixListener::bind(vault.join("sock.md")).unwrap();
        let root = Root::open_with(&vault, m).unwrap();
        for (rel, kind) in [("pipe.md", "FIFO"), ("zero.md", "character device"), ("sock.md", "socket")] {
            let err = read(&root, rel).unwrap_err();
            assert!(err.to_string().contains(kind), "{rel}: {err}");
        }
        let err = read(&root, "notes").unwrap_err();
        assert!(err.to_string().contains("directory"), "{err}");
        // The literal search skips them instead of hanging.
        let mut seen = Vec::new();
        root.each_file("", &mut |p, _, _| {
            seen.push(p.to_owned());
            true
        })
        .unwrap();
        assert_eq!(seen, ["notes/a.md", "notes/deep/b.md"]);
    });
}

#[test]
fn a_symlink_swapped_in_while_reading_is_never_followed() {
    both(|m, tmp| {
        let vault = tmp.join("vault");
        let note = vault.join("notes/swap.md");
        let public = "public note\n".repeat(2000);
        std::fs::write(&note, &public).unwrap();
        std::fs::create_dir(vault.join("notes/sub")).unwrap();
        std::fs::write(vault.join("notes/sub/secret"), "public sub\n").unwrap();
        let root = Root::open_with(&vault, m).unwrap();

        // A read in flight: opened, half read, then the path becomes a
        // symlink to the secret; the rest of the read is still the note.
        let (mut f, size) = root.open_file("notes/swap.md").unwrap();
        let mut first = vec![0u8; (size / 2) as usize];
        f.read_exact(&mut first).unwrap();
        let tmp_link = vault.join("notes/.swap-link");
        symlink(tmp.join("outside/secret"), &tmp_link).unwrap();
        std::fs::rename(&tmp_link, &note).unwrap();
        let mut rest = Vec::new();
        f.read_to_end(&mut rest).unwrap();
        first.extend(rest);
        assert_eq!(String::from_utf8(first).unwrap(), public);
        refused(read(&root, "notes/swap.md"), "after the swap");

        // A race: one thread keeps swapping the note and a symlink to the
        // secret (and a directory and a symlinked directory), the other keeps
        // reading; no read ever returns the secret.
        let stop = Arc::new(AtomicBool::new(false));
        let swapper = {
            let (stop, vault, outside) = (stop.clone(), vault.clone(), tmp.join("outside"));
            std::thread::spawn(move || {
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let staged = vault.join(format!("notes/.staged-{i}"));
                    if i.is_multiple_of(2) {
                        symlink(outside.join("secret"), &staged).unwrap();
                        std::fs::rename(&staged, vault.join("notes/swap.md")).unwrap();
                        std::fs::rename(vault.join("notes/sub"), vault.join("notes/.sub-away")).unwrap();
                        symlink(&outside, vault.join("notes/sub")).unwrap();
                    } else {
                        std::fs::write(&staged, "public note\n").unwrap();
                        std::fs::rename(&staged, vault.join("notes/swap.md")).unwrap();
                        std::fs::remove_file(vault.join("notes/sub")).unwrap();
                        std::fs::rename(vault.join("notes/.sub-away"), vault.join("notes/sub")).unwrap();
                    }
                    i += 1;
                }
                i
            })
        };
        let mut reads = 0;
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(700);
        while std::time::Instant::now() < deadline {
            for rel in ["notes/swap.md", "notes/sub/secret"] {
                if let Ok(text) = read(&root, rel) {
                    assert!(!text.contains(SECRET), "{m:?}: read the secret through {rel}");
                    reads += 1;
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
        let swaps = swapper.join().unwrap();
        assert!(swaps > 10 && reads > 0, "swaps {swaps}, successful reads {reads}");
    });
}

#[test]
fn listing_stays_inside_and_skips_hidden_names() {
    both(|m, tmp| {
        let vault = tmp.join("vault");
        symlink(tmp.join("outside"), vault.join("out")).unwrap();
        let root = Root::open_with(&vault, m).unwrap();
        let (entries, more) = root.list("", true, 100).unwrap();
        let paths: Vec<_> = entries.iter().map(|e| (e.path.as_str(), e.kind)).collect();
        assert_eq!(
            paths,
            [
                ("notes", Kind::Dir),
                ("notes/a.md", Kind::File),
                ("notes/deep", Kind::Dir),
                ("notes/deep/b.md", Kind::File),
                ("out", Kind::Symlink)
            ]
        );
        assert!(!more);
        let (entries, more) = root.list("notes", false, 1).unwrap();
        assert_eq!(entries.len(), 1);
        assert!(more);
        assert!(root.list("out", false, 10).is_err());
        assert!(root.list("../outside", false, 10).is_err());
    });
}
