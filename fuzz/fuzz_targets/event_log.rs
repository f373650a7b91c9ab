//! The event log reader never panics, and splitting the input anywhere
//! yields the same events.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut whole = Vec::new();
    ctl::events::LineDecoder::default().push(data, &mut whole);
    let cut = data.first().map_or(0, |b| usize::from(*b) % (data.len() + 1));
    let mut split = Vec::new();
    let mut d = ctl::events::LineDecoder::default();
    d.push(&data[..cut], &mut split);
    d.push(&data[cut..], &mut split);
    assert_eq!(whole, split);
    let _ = ctl::events::Summary::from_events(&whole);
});
