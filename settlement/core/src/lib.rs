//! Cyteria's settlement types, pure and synchronous: item ids, the ledger and
//! its Merkle root, batch proposals, the EIP-712 batch attestation and wallet
//! binding, signed actions and epochs.
//!
//! Everything here is plain data and decisions, unit-tested without a
//! runtime; talking to a chain (providers, contract instances, the indexer,
//! a local anvil) lives in `cyteria-chain`.

#![forbid(unsafe_code)]

pub mod action;
pub mod batch;
pub mod binding;
pub mod epoch;
pub mod evidence;
pub mod ids;
pub mod ledger;
pub mod merkle;
pub mod proposal;
pub mod provenance;
