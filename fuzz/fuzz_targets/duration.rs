//! Durations come from users' attributes, proto options and service
//! config files: parsing must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = steadfast::parse_duration(text);
    }
});
