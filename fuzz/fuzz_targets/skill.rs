//! The SKILL.md parser never panics or hangs on hostile text.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = ctl::skills::parse(text, "fuzz", "fuzz/SKILL.md");
    }
});
