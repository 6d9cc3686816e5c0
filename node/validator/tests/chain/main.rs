//! Whole networks with a chain: bot players, validators and a local anvil
//! in one process. A test binary of its own, so that these CPU-heavy tests
//! do not run beside the timing-sensitive matches of `tests/it`.

#[allow(dead_code)] // the helpers the matches use and these tests do not
#[path = "../../../p2p/tests/it/common.rs"]
mod common;
mod settle;
