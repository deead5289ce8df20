//! `grpc-timeout` values come from the network: parsing must never panic,
//! and whatever parses must survive a round trip without shrinking.
#![no_main]

use libfuzzer_sys::fuzz_target;
// The wire codec is not public API: it is reached as emitted code reaches it.
use steadfast::__private::{encode_timeout, parse_timeout};

fuzz_target!(|data: &[u8]| {
    if let Ok(timeout) = parse_timeout(data) {
        let again = parse_timeout(encode_timeout(timeout).as_bytes());
        assert!(again.is_ok_and(|t| t >= timeout));
    }
});
