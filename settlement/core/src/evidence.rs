//! A player's equivocation as validators judge it: one game key's two valid
//! signatures over conflicting statements about one match — two input
//! chains for one seat and frame (the session that sees both files it,
//! `cyteria_node::signing::CheckpointBook`, and gossips it), or two
//! different end records (a validator that verifies two versions of the
//! match finds it). Validators check it against the match header it
//! carries and slash the bonds of the wallets the key is bound to, once per
//! (key, match).

use cyteria_game::codec::{DecodeError, Format};
use cyteria_game::state::Checksum;
use cyteria_game::transcript::{MatchHeader, Signature, checkpoint_message, end_message};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Evidence as gossiped, held in batch data and passed to the chain.
pub const EVIDENCE: Format = Format {
    name: "player equivocation",
    magic: *b"CYEQ",
    version: 2,
    max_bytes: 4096,
};

/// One signed checkpoint of the offending seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signed {
    /// The head of the seat's input chain at the frame.
    pub chain: [u8; 32],
    /// The seat key's ed25519 signature over [`checkpoint_message`].
    pub signature: Signature,
}

/// One end record the offending seat signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedEnd {
    /// The match's last frame, as the record states it.
    pub frame: u32,
    /// How it ended.
    pub ending: u8,
    /// The state's checksum there.
    pub checksum: Checksum,
    /// The seat key's ed25519 signature over [`end_message`].
    pub signature: Signature,
}

/// What the seat's key signed twice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conflict {
    /// Two input chains for one frame.
    Checkpoints {
        /// The frame both checkpoints claim.
        frame: u32,
        /// One checkpoint.
        first: Signed,
        /// The other, over another chain.
        second: Signed,
    },
    /// Two different end records of the match.
    Ends {
        /// One end record.
        first: SignedEnd,
        /// Another.
        second: SignedEnd,
    },
}

/// One seat's two conflicting signatures in one match.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equivocation {
    /// The match; both signatures cover its digest.
    pub header: MatchHeader,
    /// The seat whose key signed both.
    pub seat: u8,
    /// What it signed.
    pub conflict: Conflict,
}

/// Why evidence proves nothing.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EvidenceError {
    /// The seat is not one of the header's.
    #[error("the evidence names no seat of its match")]
    NoSeat,
    /// Both signatures cover the same statement.
    #[error("the two signed statements agree")]
    SameChain,
    /// The header's seed is not drawn from its beacon: no lobby agreed it.
    #[error("the evidence's match seed is not drawn from its beacon")]
    NotFromBeacon,
    /// A signature does not verify under the seat's key.
    #[error("a checkpoint is not signed by the seat's key")]
    BadSignature,
}

impl Equivocation {
    /// The game key that equivocated, if the seat exists.
    pub fn offender(&self) -> Option<[u8; 32]> {
        self.header
            .players
            .get(usize::from(self.seat))
            .map(|s| s.public_key)
    }

    /// Whether the evidence proves an equivocation by its seat's key.
    pub fn check(&self) -> Result<[u8; 32], EvidenceError> {
        let key = self.offender().ok_or(EvidenceError::NoSeat)?;
        if !self.header.seed_is_from_beacon() {
            return Err(EvidenceError::NotFromBeacon);
        }
        let vk = VerifyingKey::from_bytes(&key).map_err(|_| EvidenceError::BadSignature)?;
        let digest = self.header.digest();
        let signed: [(Vec<u8>, &Signature); 2] = match &self.conflict {
            Conflict::Checkpoints {
                frame,
                first,
                second,
            } => {
                if first.chain == second.chain {
                    return Err(EvidenceError::SameChain);
                }
                [first, second].map(|c| {
                    (
                        checkpoint_message(&digest, self.seat, *frame, &c.chain),
                        &c.signature,
                    )
                })
            }
            Conflict::Ends { first, second } => {
                if (first.frame, first.ending, first.checksum)
                    == (second.frame, second.ending, second.checksum)
                {
                    return Err(EvidenceError::SameChain);
                }
                [first, second].map(|e| {
                    (
                        end_message(&digest, e.frame, e.ending, &e.checksum),
                        &e.signature,
                    )
                })
            }
        };
        for (m, sig) in signed {
            let sig = ed25519_dalek::Signature::from_bytes(&sig.0);
            vk.verify_strict(&m, &sig)
                .map_err(|_| EvidenceError::BadSignature)?;
        }
        Ok(key)
    }

    /// The offence it proves: one per (key, match), however many frames or
    /// copies of the evidence there are. A ledger slashes an offence once.
    pub fn offence(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new_derive_key("cyteria offence v1");
        h.update(&self.offender().unwrap_or_default());
        h.update(&self.header.digest());
        *h.finalize().as_bytes()
    }

    /// The evidence in the [`EVIDENCE`] encoding.
    pub fn encode(&self) -> Vec<u8> {
        EVIDENCE.encode(self)
    }

    /// Decodes evidence from the [`EVIDENCE`] encoding (not yet checked).
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        EVIDENCE.decode(bytes)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use cyteria_game::Rules;
    use cyteria_game::transcript::PlayerSlot;
    use ed25519_dalek::{Signer as _, SigningKey};

    /// Seat 1's key signs `chains` at frame 120 of a two-seat match.
    pub(crate) fn equivocation(key: &SigningKey, chains: [[u8; 32]; 2]) -> Equivocation {
        equivocation_at(key, chains, Default::default())
    }

    /// The same, in a match agreed from `beacon`.
    pub(crate) fn equivocation_at(
        key: &SigningKey,
        chains: [[u8; 32]; 2],
        beacon: cyteria_game::transcript::Beacon,
    ) -> Equivocation {
        let other = SigningKey::from_bytes(&[40; 32]);
        let seat = |k: &SigningKey| PlayerSlot::starter(k.verifying_key().to_bytes());
        let header = MatchHeader::from_beacon(
            [3; 32],
            beacon,
            Rules::default(),
            vec![seat(&other), seat(key)],
        );
        let digest = header.digest();
        let sign = |chain: [u8; 32]| Signed {
            chain,
            signature: Signature(
                key.sign(&checkpoint_message(&digest, 1, 120, &chain))
                    .to_bytes(),
            ),
        };
        Equivocation {
            header,
            seat: 1,
            conflict: Conflict::Checkpoints {
                frame: 120,
                first: sign(chains[0]),
                second: sign(chains[1]),
            },
        }
    }

    /// Seat 1's key signs end records at `frames` of the same match.
    fn two_ends(key: &SigningKey, frames: [u32; 2]) -> Equivocation {
        let mut ev = equivocation(key, [[1; 32], [2; 32]]);
        let digest = ev.header.digest();
        let end = |frame: u32| {
            let checksum = Checksum([frame as u8; 32]);
            SignedEnd {
                frame,
                ending: 0,
                checksum,
                signature: Signature(
                    key.sign(&end_message(&digest, frame, 0, &checksum))
                        .to_bytes(),
                ),
            }
        };
        ev.conflict = Conflict::Ends {
            first: end(frames[0]),
            second: end(frames[1]),
        };
        ev
    }

    #[test]
    fn only_two_signed_chains_of_one_seat_and_frame_prove_an_offence() {
        let key = SigningKey::from_bytes(&[41; 32]);
        let ev = equivocation(&key, [[1; 32], [2; 32]]);
        assert_eq!(ev.check(), Ok(key.verifying_key().to_bytes()));
        assert_eq!(Equivocation::decode(&ev.encode()).unwrap(), ev);

        let same = equivocation(&key, [[1; 32], [1; 32]]);
        assert_eq!(same.check(), Err(EvidenceError::SameChain));
        // Pinned on the other seat, whose key signed neither.
        let mut framed = ev.clone();
        framed.seat = 0;
        assert_eq!(framed.check(), Err(EvidenceError::BadSignature));
        let mut gone = ev.clone();
        gone.seat = 9;
        assert_eq!(gone.check(), Err(EvidenceError::NoSeat));
        // A header no lobby agreed (its seed not from its beacon) proves nothing.
        let mut invented = equivocation(&key, [[1; 32], [2; 32]]);
        invented.header.seed ^= 1;
        assert_eq!(invented.check(), Err(EvidenceError::NotFromBeacon));
        // Moved to another frame, the signatures do not cover it.
        let mut moved = ev.clone();
        if let Conflict::Checkpoints { frame, .. } = &mut moved.conflict {
            *frame = 121;
        }
        assert_eq!(moved.check(), Err(EvidenceError::BadSignature));
        // The same offence at another frame is one offence.
        let other = equivocation(&key, [[3; 32], [4; 32]]);
        assert_eq!(other.offence(), ev.offence());

        // Two end records of one match, say a cut at frame 60 and the real
        // end at 600: the same offence as any other equivocation there.
        let ends = two_ends(&key, [60, 600]);
        assert_eq!(ends.check(), Ok(key.verifying_key().to_bytes()));
        assert_eq!(ends.offence(), ev.offence());
        assert_eq!(
            two_ends(&key, [600, 600]).check(),
            Err(EvidenceError::SameChain)
        );
        let mut forged = ends.clone();
        if let Conflict::Ends { second, .. } = &mut forged.conflict {
            second.frame = 601;
        }
        assert_eq!(forged.check(), Err(EvidenceError::BadSignature));
        assert!(Equivocation::decode(b"junk").is_err());
    }
}
