//! Transcript decoding (and verifying whatever decodes) must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(t) = cyteria_game::Transcript::decode(data) {
        if t.frames() <= 2_000 {
            let _ = t.verify();
        }
    }
});
