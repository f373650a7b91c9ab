use std::time::Duration;

use super::*;

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ctl.db")).unwrap();
    (dir, store)
}

fn msg(id: &str, session: &str, role: Role, content: &str, job: Option<&str>) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        session_id: session.into(),
        role,
        content: content.into(),
        job_id: job.map(Into::into),
        created_at: Timestamp::now(),
    }
}

#[test]
fn create_get_and_create_again_keeps_the_first() {
    let (_dir, store) = open();
    let s = store.create_session("s1", Some("  Plans  ")).unwrap();
    assert_eq!(s.id, "s1");
    assert_eq!(s.title, "Plans");
    assert_eq!(s.message_count, 0);
    assert_eq!(s.created_at, s.updated_at);
    assert_eq!(store.get_session("s1").unwrap(), Some(s.clone()));
    assert_eq!(store.create_session("s1", Some("other")).unwrap(), s);
    assert_eq!(store.create_session("s2", None).unwrap().title, "");
    assert_eq!(store.get_session("nope").unwrap(), None);
}

#[test]
fn list_is_most_recent_activity_first_and_limited() {
    let (_dir, store) = open();
    for id in ["a", "b", "c"] {
        store.create_session(id, None).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let ids = |v: Vec<SessionSummary>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
    assert_eq!(ids(store.list_sessions(10).unwrap()), ["c", "b", "a"]);
    assert!(store.add_message(&msg("m1", "a", Role::User, "hi", None)).unwrap());
    let listed = store.list_sessions(10).unwrap();
    assert_eq!(listed[0].message_count, 1);
    assert!(listed[0].updated_at > listed[0].created_at);
    assert_eq!(ids(listed), ["a", "c", "b"]);
    assert_eq!(ids(store.list_sessions(2).unwrap()), ["a", "c"]);
    assert!(store.list_sessions(0).unwrap().is_empty());
}

#[test]
fn messages_round_trip_oldest_first() {
    let (_dir, store) = open();
    store.create_session("s", None).unwrap();
    let t0 = Timestamp::now();
    let mut later = msg("m-later", "s", Role::Assistant, "second", Some("job1"));
    later.created_at = t0 + jiff::SignedDuration::from_secs(5);
    let mut earlier = msg("m-earlier", "s", Role::User, "first", None);
    earlier.created_at = t0;
    // Added in the wrong order, and two with the very same time.
    assert!(store.add_message(&later).unwrap());
    assert!(store.add_message(&earlier).unwrap());
    let mut same1 = msg("z-same", "s", Role::Tool, "tool says", None);
    same1.created_at = t0 + jiff::SignedDuration::from_secs(9);
    let mut same2 = msg("a-same", "s", Role::System, "system says", None);
    same2.created_at = same1.created_at;
    assert!(store.add_message(&same1).unwrap());
    assert!(store.add_message(&same2).unwrap());
    let got = store.session_messages("s").unwrap();
    assert_eq!(got, vec![earlier, later, same1, same2]);
    assert!(store.session_messages("other").unwrap().is_empty());
}

#[test]
fn message_to_a_missing_session_is_refused() {
    let (_dir, store) = open();
    assert!(!store.add_message(&msg("m", "ghost", Role::User, "hello", None)).unwrap());
    assert!(store.get_session("ghost").unwrap().is_none());
}

#[test]
fn add_message_is_idempotent_per_job_and_role() {
    let (_dir, store) = open();
    store.create_session("s", None).unwrap();
    assert!(store.add_message(&msg("q", "s", Role::User, "question", Some("job1"))).unwrap());
    assert!(store.add_message(&msg("a1", "s", Role::Assistant, "answer", Some("job1"))).unwrap());
    // The worker finishes the same job again: a new message id, same job.
    assert!(!store.add_message(&msg("a2", "s", Role::Assistant, "answer again", Some("job1"))).unwrap());
    // The same message id twice is ignored too.
    assert!(!store.add_message(&msg("a1", "s", Role::Assistant, "dup id", Some("job2"))).unwrap());
    // Messages without a job are never deduplicated by job.
    assert!(store.add_message(&msg("n1", "s", Role::Assistant, "x", None)).unwrap());
    assert!(store.add_message(&msg("n2", "s", Role::Assistant, "x", None)).unwrap());
    let contents: Vec<String> = store.session_messages("s").unwrap().into_iter().map(|m| m.content).collect();
    assert_eq!(contents, ["question", "answer", "x", "x"]);
    assert_eq!(store.get_session("s").unwrap().unwrap().message_count, 4);
}

#[test]
fn ignored_message_does_not_bump_updated_at() {
    let (_dir, store) = open();
    store.create_session("s", None).unwrap();
    store.add_message(&msg("a1", "s", Role::Assistant, "answer", Some("job1"))).unwrap();
    let before = store.get_session("s").unwrap().unwrap().updated_at;
    std::thread::sleep(Duration::from_millis(2));
    assert!(!store.add_message(&msg("a2", "s", Role::Assistant, "answer", Some("job1"))).unwrap());
    assert_eq!(store.get_session("s").unwrap().unwrap().updated_at, before);
}

#[test]
fn first_user_message_names_an_untitled_session() {
    let (_dir, store) = open();
    store.create_session("s", None).unwrap();
    // Not from a system or assistant message, nor from a blank one.
    store.add_message(&msg("1", "s", Role::System, "You are terse.", None)).unwrap();
    store.add_message(&msg("2", "s", Role::Assistant, "Hello!", None)).unwrap();
    store.add_message(&msg("3", "s", Role::User, "  \n \t\n", None)).unwrap();
    assert_eq!(store.get_session("s").unwrap().unwrap().title, "");
    store
        .add_message(&msg("4", "s", Role::User, "\n\n  How do I bake bread?  \nWith details.", None))
        .unwrap();
    assert_eq!(store.get_session("s").unwrap().unwrap().title, "How do I bake bread?");
    // Later user messages leave it.
    store.add_message(&msg("5", "s", Role::User, "And cake?", None)).unwrap();
    assert_eq!(store.get_session("s").unwrap().unwrap().title, "How do I bake bread?");

    store.create_session("titled", Some("Mine")).unwrap();
    store.add_message(&msg("6", "titled", Role::User, "Something else", None)).unwrap();
    assert_eq!(store.get_session("titled").unwrap().unwrap().title, "Mine");
}

#[test]
fn derived_title_is_cut_to_sixty_chars_with_an_ellipsis() {
    assert_eq!(derive_title("short"), "short");
    assert_eq!(derive_title("line one\r\nline two"), "line one");
    let sixty = "x".repeat(60);
    assert_eq!(derive_title(&sixty), sixty);
    let long = "é".repeat(61);
    let cut = derive_title(&long);
    assert_eq!(cut.chars().count(), 60);
    assert_eq!(cut, format!("{}…", "é".repeat(59)));
    // No space left dangling before the ellipsis.
    let words = format!("{} tail of the line", "a".repeat(58));
    assert_eq!(derive_title(&words), format!("{}…", "a".repeat(58)));
    assert_eq!(derive_title(""), "");
}

#[test]
fn long_first_message_gives_a_cut_title() {
    let (_dir, store) = open();
    store.create_session("s", None).unwrap();
    let content = format!("{} and so on", "word ".repeat(20));
    store.add_message(&msg("1", "s", Role::User, &content, None)).unwrap();
    let title = store.get_session("s").unwrap().unwrap().title;
    assert!(title.ends_with('…'), "{title}");
    assert!(title.chars().count() <= 60, "{title}");
    assert!(content.starts_with(title.trim_end_matches('…')));
}

#[test]
fn rename_sets_the_title_without_bumping_activity() {
    let (_dir, store) = open();
    let s = store.create_session("s", None).unwrap();
    assert!(store.rename_session("s", "  New name ").unwrap());
    let got = store.get_session("s").unwrap().unwrap();
    assert_eq!(got.title, "New name");
    assert_eq!(got.updated_at, s.updated_at);
    assert!(!store.rename_session("ghost", "x").unwrap());
    // An emptied title is derived again from the next user message.
    assert!(store.rename_session("s", "").unwrap());
    store.add_message(&msg("1", "s", Role::User, "fresh start", None)).unwrap();
    assert_eq!(store.get_session("s").unwrap().unwrap().title, "fresh start");
}

#[test]
fn delete_cascades_to_messages() {
    let (_dir, store) = open();
    store.create_session("s", None).unwrap();
    store.create_session("keep", None).unwrap();
    store.add_message(&msg("1", "s", Role::User, "a", Some("job1"))).unwrap();
    store.add_message(&msg("2", "s", Role::Assistant, "b", Some("job1"))).unwrap();
    store.add_message(&msg("3", "keep", Role::User, "c", None)).unwrap();
    assert!(store.delete_session("s").unwrap());
    assert!(!store.delete_session("s").unwrap());
    assert!(store.get_session("s").unwrap().is_none());
    assert!(store.session_messages("s").unwrap().is_empty());
    let left: i64 = store.read(|c| c.query_row("SELECT COUNT(*) FROM messages", [], |r| r.get(0))).unwrap();
    assert_eq!(left, 1);
    // The job's answer can be recorded again in a new session.
    store.create_session("s", None).unwrap();
    assert!(store.add_message(&msg("4", "s", Role::Assistant, "b", Some("job1"))).unwrap());
}

#[test]
fn roles_are_stored_as_their_wire_names() {
    for role in [Role::System, Role::User, Role::Assistant, Role::Tool] {
        let wire = serde_json::to_value(role).unwrap();
        assert_eq!(wire.as_str(), Some(role_str(role)));
        assert_eq!(parse_role(role_str(role)), Some(role));
    }
    assert_eq!(parse_role("robot"), None);
}

#[test]
fn stored_times_sort_as_strings() {
    let whole = Timestamp::from_second(1_800_000_000).unwrap();
    let half = whole + jiff::SignedDuration::from_millis(500);
    assert!(ts_text(whole) < ts_text(half));
    assert_eq!(ts_text(whole).len(), ts_text(half).len());
    assert_eq!(ts_text(half).parse::<Timestamp>().unwrap(), half);
}

#[test]
fn a_database_from_before_migration_0002_upgrades_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.db");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(super::super::MIGRATIONS[0].1).unwrap();
    conn.execute(
        "INSERT INTO jobs (id, state, model, prompt, created_at, finished_at, attempts, max_attempts,
            output, prompt_tokens, completion_tokens, duration_ms)
         VALUES ('01JOLD', 'completed', 'm', 'p', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z', 1, 3,
            'o', 2, 3, 500.0)",
        [],
    )
    .unwrap();
    conn.pragma_update(None, "user_version", 1).unwrap();
    drop(conn);

    let store = Store::open(&path).unwrap();
    assert!(store.get("01JOLD").unwrap().is_some());
    assert_eq!(store.metrics(&[1.0], &[]).unwrap().duration_seconds.buckets, [1]);
    store.create_session("s", None).unwrap();
    assert!(store.add_message(&msg("m", "s", Role::User, "hi", None)).unwrap());
    store.create_token("t").unwrap();
    let version: i64 = store.read(|c| c.pragma_query_value(None, "user_version", |r| r.get(0))).unwrap();
    assert_eq!(version, super::super::MIGRATIONS.len() as i64);
}
