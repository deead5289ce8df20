//! A clients' settings file comes from operators, and while the service
//! runs (a watched file, a pushed text): reading it, in any of its
//! formats, and making the gates it describes must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast::config::{Clients, Format};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        for format in [Format::Yaml, Format::Toml, Format::Json] {
            if let Ok(clients) = Clients::parse(text, format) {
                for name in clients.names() {
                    if let Ok(client) = clients.client(&name) {
                        let _ = client.call("Fuzzed").max_attempts();
                    }
                }
            }
        }
    }
});
