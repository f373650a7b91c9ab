//! The three providers' stream parsers (OpenAI SSE, Anthropic SSE, Ollama
//! NDJSON) never panic, whatever the bytes and however they are chunked.
#![no_main]
use ctl::config::ProviderKind;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else { return };
    let kind = match selector % 3 {
        0 => ProviderKind::Openai,
        1 => ProviderKind::Anthropic,
        _ => ProviderKind::Ollama,
    };
    // The selector's high bits pick a chunk size, so splits vary too.
    let size = usize::from(selector >> 2).max(1);
    let chunks: Vec<bytes::Bytes> = body.chunks(size).map(bytes::Bytes::copy_from_slice).collect();
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let events = rt.block_on(ctl::provider::decode_recorded(kind, chunks));
    // A stream ends at its first error.
    if let Some(pos) = events.iter().position(Result::is_err) {
        assert_eq!(pos, events.len() - 1);
    }
});
