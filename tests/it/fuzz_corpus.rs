//! Regression tests from fuzzing: every input of the minimised `cargo fuzz`
//! corpora (`tests/fixtures/fuzz/<target>.corpus`) goes through the same checks
//! as the fuzz targets in `fuzz/fuzz_targets/`, so a parser change that
//! breaks on any of them fails here without running a fuzzer.

use std::path::Path;

use ctl::config::ProviderKind;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz").join(format!("{target}.corpus"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut inputs = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let (len, tail) = rest.split_at(4);
        let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
        inputs.push((format!("{target} input {}", inputs.len()), tail[..len].to_vec()));
        rest = &tail[len..];
    }
    assert!(inputs.len() >= 5, "{target}: the corpus is missing");
    inputs
}

#[test]
fn job_file_corpus() {
    for (name, data) in corpus("job_file") {
        if let Ok(job) = ctl::queue::parse_job(&data, "01JDQ7T3ZK4M8X2B6N0C5V9WAE") {
            let again = serde_json::to_vec(&job).unwrap();
            assert_eq!(ctl::queue::parse_job(&again, &job.id).unwrap(), job, "{name}");
        }
    }
}

#[test]
fn event_log_corpus() {
    for (name, data) in corpus("event_log") {
        let mut whole = Vec::new();
        ctl::events::LineDecoder::default().push(&data, &mut whole);
        for cut in [0, data.len() / 2, data.len()] {
            let mut split = Vec::new();
            let mut d = ctl::events::LineDecoder::default();
            d.push(&data[..cut], &mut split);
            d.push(&data[cut..], &mut split);
            assert_eq!(whole, split, "{name} split at {cut}");
        }
        let _ = ctl::events::Summary::from_events(&whole);
    }
}

#[test]
fn stream_parsers_corpus() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    for (name, data) in corpus("stream_parsers") {
        let Some((&selector, body)) = data.split_first() else { continue };
        for kind in [ProviderKind::Openai, ProviderKind::Anthropic, ProviderKind::Ollama] {
            for size in [1, usize::from(selector >> 2).max(1), body.len().max(1)] {
                let chunks = body.chunks(size).map(bytes::Bytes::copy_from_slice).collect();
                let events = rt.block_on(ctl::provider::decode_recorded(kind, chunks));
                if let Some(pos) = events.iter().position(Result::is_err) {
                    assert_eq!(pos, events.len() - 1, "{name}: a stream ends at its first error");
                }
            }
        }
    }
}

#[test]
fn config_corpus() {
    for (_, data) in corpus("config") {
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = ctl::config::Config::parse(text, None, std::iter::empty());
        }
    }
}

#[test]
fn skill_corpus() {
    for (_, data) in corpus("skill") {
        if let Ok(text) = std::str::from_utf8(&data) {
            let _ = ctl::skills::parse(text, "fuzz", "fuzz/SKILL.md");
        }
    }
}
