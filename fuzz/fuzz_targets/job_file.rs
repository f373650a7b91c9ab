//! The job file parser never panics, and what it accepts re-encodes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(job) = ctl::queue::parse_job(data, "01JDQ7T3ZK4M8X2B6N0C5V9WAE") {
        let again = serde_json::to_vec(&job).expect("a parsed job encodes");
        assert_eq!(ctl::queue::parse_job(&again, &job.id).expect("and parses again"), job);
    }
});
