use super::*;

fn view(id: &str, state: JobState) -> JobView {
    JobView {
        sources: Vec::new(),
        vault: None,
        id: id.into(),
        state,
        model: "local:tiny".into(),
        priority: 0,
        created_at: jiff::Timestamp::now(),
        started_at: Some(jiff::Timestamp::now()),
        finished_at: Some(jiff::Timestamp::now()),
        attempts: 1,
        max_attempts: 3,
        worker: Some("w".into()),
        prompt: "hi".into(),
        output: "hello".into(),
        error: None,
        usage: Some(Usage {
            prompt_tokens: 3,
            completion_tokens: 5,
            ttft_ms: Some(1.5),
            tokens_per_s: Some(100.0),
            duration_ms: 50.0,
            estimated: true,
        }),
        params: [("temperature".to_owned(), serde_json::json!(0.2))].into(),
        session_id: None,
        parent_id: None,
        skills: Vec::new(),
        tools: Vec::new(),
        tool_stats: crate::api::ToolStats::default(),
        client: None,
    }
}

#[test]
fn record_is_one_per_id_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ctl.db")).unwrap();
    let mut v = view("01JAAAAAAAAAAAAAAAAAAAAAAA", JobState::Completed);
    store.record(&v).unwrap();
    v.output = "again".into();
    store.record(&v).unwrap();
    let got = store.get(&v.id).unwrap().unwrap();
    assert_eq!(got.output, "again");
    assert_eq!(got.usage, v.usage);
    assert_eq!(got.params, v.params);
    assert_eq!(got.created_at, v.created_at);
    assert_eq!(store.list(None, 10, None).unwrap().len(), 1);
    assert_eq!(store.ids_with_prefix("01JA", 10).unwrap(), vec![v.id.clone()]);
    assert!(store.ids_with_prefix("01JB", 10).unwrap().is_empty());
    store.forget(&v.id).unwrap();
    assert!(store.get(&v.id).unwrap().is_none());
}

#[test]
fn list_filters_by_state_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("ctl.db")).unwrap();
    store.record(&view("01JAAAAAAAAAAAAAAAAAAAAAA1", JobState::Completed)).unwrap();
    store.record(&view("01JAAAAAAAAAAAAAAAAAAAAAA2", JobState::Failed)).unwrap();
    store.record(&view("01JAAAAAAAAAAAAAAAAAAAAAA3", JobState::Completed)).unwrap();
    let ids: Vec<String> =
        store.list(Some(JobState::Completed), 10, None).unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(ids, vec!["01JAAAAAAAAAAAAAAAAAAAAAA3", "01JAAAAAAAAAAAAAAAAAAAAAA1"]);
}

#[test]
fn reopen_keeps_schema_and_refuses_newer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.db");
    drop(Store::open(&path).unwrap());
    drop(Store::open(&path).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let err = Store::open(&path).unwrap_err().to_string();
    assert!(err.contains("newer than this ctl"), "{err}");
}

#[test]
fn two_connections_writing_at_once_never_see_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.db");
    let a = Store::open(&path).unwrap();
    let b = Store::open(&path).unwrap();
    let threads: Vec<_> = [a, b]
        .into_iter()
        .enumerate()
        .map(|(n, s)| {
            std::thread::spawn(move || {
                for i in 0..200 {
                    let id = format!("01JAAAAAAAAAAAAAAAAA{n}{i:05}");
                    s.record(&view(&id, JobState::Completed)).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.list(None, 1000, None).unwrap().len(), 400);
    assert_eq!(s.quick_check().unwrap(), "ok");
}
