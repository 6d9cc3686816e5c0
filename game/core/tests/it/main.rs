//! Integration tests of the game core, one module per scenario.

mod decode;
mod golden;
mod properties;
mod sync_test;
mod verify;
