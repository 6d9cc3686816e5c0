//! `cyteria_node::fuzzing::cid` under libFuzzer: must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| cyteria_node::fuzzing::cid(data));
