//! The Cyteria node: identity, the libp2p stack (on rust-ipfs's swarm),
//! matchmaking over gossipsub, rollback matches over libp2p streams with
//! signed inputs, the local store, metrics, and the `cyteria` command.

#[cfg(feature = "adversary")]
pub mod adversary;
pub mod beacon;
pub mod block;
pub mod cli;
pub mod conditioner;
pub mod config;
pub mod content;
pub mod direct;
pub mod framing;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod gateway;
pub mod ggrs_guard;
pub mod identity;
pub mod loadout;
pub mod lobby;
pub mod metadata;
pub mod metrics;
pub mod net;
pub mod node;
pub mod profile;
pub mod rollback;
pub mod session;
pub mod signing;
pub mod store;
pub mod verifier;
pub mod wire;
