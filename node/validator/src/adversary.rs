//! Validators that misbehave on purpose, so that tests and the devnet can
//! show the others and the chain catching them. Compiled only with the
//! `adversary` feature (the devnet and tests); the release validator calls
//! in here at one marked point and has no fault branch of its own.

use cyteria_settlement::batch::{self, Batch};

use crate::Validator;

/// A fault to inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Sign a second, different batch for every epoch it signs.
    Equivocate,
    /// Stop dead right after signing a batch, as if killed, before submitting.
    CrashAfterSigning,
}

/// Runs right after the validator signed and gossiped `b`; `true` when the
/// validator is to stop there (it "crashed").
pub(crate) async fn after_signing(v: &mut Validator, b: &Batch) -> anyhow::Result<bool> {
    match v.cfg.fault {
        Some(Fault::Equivocate) => {
            let mut other = b.clone();
            other.newRoot.0[0] ^= 1;
            let att = batch::sign(&v.signer, &other, &v.domain)?;
            v.publish_attestation(&other, &att).await;
            tracing::warn!(
                epoch = b.epoch,
                "signed a second batch for the epoch (fault injected)"
            );
            Ok(false)
        }
        Some(Fault::CrashAfterSigning) => {
            v.crashed = true;
            Ok(true)
        }
        None => Ok(false),
    }
}
