//! Snapshot decoding must never panic, and what decodes must survive a
//! re-encode unchanged.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = cyteria_game::State::decode(data) {
        assert_eq!(cyteria_game::State::decode(&s.encode()).as_ref(), Ok(&s));
    }
});
