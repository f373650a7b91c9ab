use std::path::Path;
use std::time::{Duration, Instant};

use super::*;
use crate::skills::{Catalog, SkillSource};

fn write(dir: &Path, name: &str, description: &str) {
    let folder = dir.join(name);
    std::fs::create_dir_all(&folder).unwrap();
    // Write and rename, as editors do, so a reload never sees half a file.
    let tmp = folder.join(".SKILL.md.tmp");
    std::fs::write(&tmp, format!("---\nname: {name}\ndescription: {description}\n---\nDo it.\n")).unwrap();
    std::fs::rename(tmp, folder.join("SKILL.md")).unwrap();
}

/// Polls `current()` until `pred` holds; panics after `within`.
fn wait_for(live: &LiveCatalog, within: Duration, what: &str, pred: impl Fn(&Catalog) -> bool) {
    let started = Instant::now();
    while !pred(&live.current()) {
        assert!(started.elapsed() < within, "{what}: not seen within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn description(c: &Catalog, name: &str) -> Option<String> {
    c.get(name).map(|s| s.description.clone())
}

#[test]
fn added_edited_and_removed_skills_are_seen_within_two_seconds() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("skills");
    write(&dir, "first", "One.");
    let live = LiveCatalog::start(vec![dir.clone()]);
    assert_eq!(description(&live.current(), "first").as_deref(), Some("One."));
    assert_eq!(live.dirs(), std::slice::from_ref(&dir));
    let limit = Duration::from_secs(2);

    write(&dir, "second", "Two.");
    wait_for(&live, limit, "added", |c| c.get("second").is_some());

    write(&dir, "second", "Two, edited.");
    wait_for(&live, limit, "edited", |c| description(c, "second").as_deref() == Some("Two, edited."));

    std::fs::remove_dir_all(dir.join("second")).unwrap();
    wait_for(&live, limit, "removed", |c| c.get("second").is_none());

    // A user skill named like a built-in replaces it live, and its removal brings it back.
    write(&dir, "explain", "Mine.");
    wait_for(&live, limit, "override", |c| description(c, "explain").as_deref() == Some("Mine."));
    std::fs::remove_dir_all(dir.join("explain")).unwrap();
    wait_for(&live, limit, "builtin back", |c| {
        c.get("explain").is_some_and(|s| s.source == SkillSource::Builtin)
    });

    // A broken edit is reported, and the skill goes away until fixed.
    std::fs::write(dir.join("first/SKILL.md"), "---\nname: first\n").unwrap();
    wait_for(&live, limit, "broken", |c| c.get("first").is_none());
    assert!(live.errors().iter().any(|e| e.message.contains("not closed")), "{:?}", live.errors());
    write(&dir, "first", "Fixed.");
    wait_for(&live, limit, "fixed", |c| description(c, "first").as_deref() == Some("Fixed."));
    assert!(live.errors().is_empty());
}

#[test]
fn the_rescan_alone_catches_changes_and_new_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("later");
    let live = LiveCatalog::start_with(vec![dir.clone()], false, Duration::from_millis(300));
    assert_eq!(live.current().len(), 4);
    write(&dir, "late", "Late.");
    wait_for(&live, Duration::from_secs(2), "rescan", |c| c.get("late").is_some());
}

#[test]
fn a_directory_created_after_start_is_watched() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("created-later");
    let live = LiveCatalog::start_with(vec![dir.clone()], true, Duration::from_millis(500));
    write(&dir, "one", "One.");
    wait_for(&live, Duration::from_secs(2), "new directory", |c| c.get("one").is_some());
    // Once watched, a change shows up through the watcher.
    write(&dir, "two", "Two.");
    wait_for(&live, Duration::from_secs(2), "watched", |c| c.get("two").is_some());
}

#[test]
fn readers_share_snapshots_and_clones_share_the_watcher() {
    let tmp = tempfile::tempdir().unwrap();
    let live = LiveCatalog::start(vec![tmp.path().to_path_buf()]);
    let a = live.current();
    let b = live.clone().current();
    assert!(Arc::ptr_eq(&a, &b), "no reload, same snapshot");
    assert!(!live.reload(), "nothing changed");
    write(tmp.path(), "now", "Now.");
    assert!(live.reload());
    assert!(live.current().get("now").is_some());
    assert!(a.get("now").is_none(), "old snapshots stay as they were");
    assert!(format!("{live:?}").contains("LiveCatalog"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_is_cheap_from_async_tasks() {
    let tmp = tempfile::tempdir().unwrap();
    let live = LiveCatalog::start(vec![tmp.path().to_path_buf()]);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let live = live.clone();
            tokio::spawn(async move { (0..1000).map(|_| live.current().len()).sum::<usize>() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 4000);
    }
}
