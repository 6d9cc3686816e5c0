//! What a validator checks before it credits a match (pure; the validator
//! role fetches the bytes): the announced transcript decodes and is the one
//! announced, every player signed its inputs (ed25519 batch verification)
//! and the match's end record (its last frame and final checksum: no prefix
//! passes for the whole), the re-simulation reproduces the final checksum, and the rewards the
//! player's node claimed are the ones the simulation gives.

use cyteria_game::codec::DecodeError;
use cyteria_game::transcript::Transcript;
use cyteria_game::verify::{Outcome, VerifyError};
use thiserror::Error;

use crate::signing::{SignatureError, verify_end, verify_transcript_signatures};
use crate::wire::{Announce, claims_hash};

/// Why a validator does not credit a match.
#[derive(Debug, Error)]
pub enum Rejection {
    /// The transcript's bytes do not decode.
    #[error("the transcript does not decode: {0}")]
    Decode(#[from] DecodeError),
    /// The transcript differs from its announcement in what this names.
    #[error("the transcript is not the announced one ({0})")]
    NotAnnounced(&'static str),
    /// A player's checkpoints do not hold.
    #[error(transparent)]
    Signatures(#[from] SignatureError),
    /// The re-simulation refused the match or did not reproduce its final checksum.
    #[error("re-simulation: {0}")]
    Simulation(#[from] VerifyError),
    /// The claims hash announced is not the one of the rewards the simulation gives.
    #[error("the announced rewards are not what the simulation gives")]
    ClaimedRewards,
}

impl Rejection {
    /// A short, bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Rejection::Decode(_) => "malformed transcript",
            Rejection::NotAnnounced(_) => "not as announced",
            Rejection::Signatures(e) => e.label(),
            Rejection::Simulation(VerifyError::ChecksumMismatch { .. }) => "checksum mismatch",
            Rejection::Simulation(VerifyError::RulesVersion { .. }) => "rules version",
            Rejection::Simulation(_) => "invalid match",
            Rejection::ClaimedRewards => "claimed rewards",
        }
    }
}

/// A transcript that passed every check, with what the simulation gave.
#[derive(Clone, Debug)]
pub struct Verified {
    /// The decoded transcript.
    pub transcript: Transcript,
    /// Its re-simulation's outcome: final checksum and each player's rewards.
    pub outcome: Outcome,
}

/// Checks transcript `bytes` on their own (a transcript named in batch data).
pub fn verify_transcript(bytes: &[u8]) -> Result<Verified, Rejection> {
    let t = Transcript::decode(bytes)?;
    verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)?;
    verify_end(&t)?;
    let outcome = t.verify()?;
    Ok(Verified {
        transcript: t,
        outcome,
    })
}

/// Checks the transcript `bytes` fetched for announcement `a`.
pub fn verify_announced(a: &Announce, bytes: &[u8]) -> Result<Verified, Rejection> {
    let t = Transcript::decode(bytes)?;
    if t.header.match_id != a.match_id {
        return Err(Rejection::NotAnnounced("match id"));
    }
    if t.final_checksum != a.final_checksum || t.frames() != a.frames {
        return Err(Rejection::NotAnnounced("frames or final checksum"));
    }
    verify_transcript_signatures(&t.header, &t.inputs, &t.checkpoints)?;
    verify_end(&t)?;
    let outcome = t.verify()?;
    if claims_hash(&outcome.players) != a.claims {
        return Err(Rejection::ClaimedRewards);
    }
    Ok(Verified {
        transcript: t,
        outcome,
    })
}
