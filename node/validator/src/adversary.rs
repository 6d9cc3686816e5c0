//! Validators that misbehave on purpose, so that tests and the devnet can
//! show the others and the chain catching them. Compiled only with the
//! `adversary` feature (the devnet and tests); the release validator calls
//! in here at one marked point and has no fault branch of its own.

use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::Eip712Domain;
use cyteria_settlement::batch::{self, Attestation, Batch};

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Sign a second, different batch for every epoch it signs.
    Equivocate,
    /// Stop dead right after signing a batch, as if killed, before submitting.
    CrashAfterSigning,
    /// Stop dead after writing the record of a signature and before gossiping it.
    CrashBeforeGossip,
    /// Submit every round-0 batch with one signature only, so the chain
    /// refuses it (too little stake): a batch that fails on chain.
    FailRoundZero,
}

/// The signatures the faulty validator submits `b` with.
pub(crate) fn before_submit(
    fault: Option<Fault>,
    b: &Batch,
    mut signatures: Vec<alloy::primitives::Bytes>,
) -> Vec<alloy::primitives::Bytes> {
    if fault == Some(Fault::FailRoundZero) && b.round == 0 {
        tracing::warn!(
            epoch = b.epoch,
            "submitting round 0 short of its quorum (fault injected)"
        );
        signatures.truncate(1);
    }
    signatures
}

/// What the faulty validator does after it signed and gossiped a batch.
pub(crate) enum AfterSigning {
    /// Nothing out of the ordinary.
    Go,
    /// Gossip this second, conflicting batch too.
    AlsoGossip(Box<(Batch, Attestation)>),
    /// Stop here, as a killed process would.
    Crash,
}

/// Decides what `fault` makes of signing `b`.
pub(crate) fn after_signing(
    fault: Option<Fault>,
    signer: &PrivateKeySigner,
    domain: &Eip712Domain,
    b: &Batch,
) -> anyhow::Result<AfterSigning> {
    Ok(match fault {
        Some(Fault::Equivocate) => {
            let mut other = b.clone();
            other.newRoot.0[0] ^= 1;
            let att = batch::sign(signer, &other, domain)?;
            tracing::warn!(
                epoch = b.epoch,
                "signed a second batch for the epoch (fault injected)"
            );
            AfterSigning::AlsoGossip(Box::new((other, att)))
        }
        Some(Fault::CrashAfterSigning) => AfterSigning::Crash,
        Some(Fault::CrashBeforeGossip | Fault::FailRoundZero) | None => AfterSigning::Go,
    })
}
