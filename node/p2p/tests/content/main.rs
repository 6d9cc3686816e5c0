//! The content store between real nodes on loopback. A test binary of its
//! own: its transfers hash and move tens of megabytes, which must not run
//! beside the timing-sensitive matches of `tests/it`.

#[allow(dead_code)] // the helpers the matches use and these tests do not
#[path = "../it/common.rs"]
mod common;
mod exchange;
mod interop;
