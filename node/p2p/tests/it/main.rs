//! Real swarms on loopback, in one process: matches between nodes over TCP
//! and QUIC, with and without the link conditioner, under attack, and with a
//! player vanishing.

mod adversarial;
mod blocking;
mod common;
mod fuzz_corpus;
mod matches;
mod reach;
