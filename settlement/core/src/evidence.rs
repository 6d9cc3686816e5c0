//! A player's equivocation as validators judge it: one game key's two valid
//! checkpoint signatures over different input chains for one seat and frame
//! of one match. The session that sees both files it
//! (`cyteria_node::signing::CheckpointBook`) and gossips it; validators
//! check it against the match header it carries and slash the bonds of the
//! wallets the key is bound to, once per (key, match).

use cyteria_game::codec::{DecodeError, Format};
use cyteria_game::transcript::{MatchHeader, Signature, checkpoint_message};
use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Evidence as gossiped, held in batch data and passed to the chain.
pub const EVIDENCE: Format = Format {
    name: "player equivocation",
    magic: *b"CYEQ",
    version: 1,
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

/// Two signed chains of one seat for one frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equivocation {
    /// The match; both signatures cover its digest.
    pub header: MatchHeader,
    /// The seat whose key signed both.
    pub seat: u8,
    /// The frame both checkpoints claim.
    pub frame: u32,
    /// One checkpoint.
    pub first: Signed,
    /// The other, over another chain.
    pub second: Signed,
}

/// Why evidence proves nothing.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum EvidenceError {
    /// The seat is not one of the header's.
    #[error("the evidence names no seat of its match")]
    NoSeat,
    /// Both checkpoints name the same chain.
    #[error("the two checkpoints agree")]
    SameChain,
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
        if self.first.chain == self.second.chain {
            return Err(EvidenceError::SameChain);
        }
        let vk = VerifyingKey::from_bytes(&key).map_err(|_| EvidenceError::BadSignature)?;
        let digest = self.header.digest();
        for c in [&self.first, &self.second] {
            let m = checkpoint_message(&digest, self.seat, self.frame, &c.chain);
            let sig = ed25519_dalek::Signature::from_bytes(&c.signature.0);
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
    use cyteria_game::crafting::starter_loadout;
    use cyteria_game::transcript::PlayerSlot;
    use ed25519_dalek::{Signer as _, SigningKey};

    /// Seat 1's key signs `chains` at frame 120 of a two-seat match.
    pub(crate) fn equivocation(key: &SigningKey, chains: [[u8; 32]; 2]) -> Equivocation {
        let other = SigningKey::from_bytes(&[40; 32]);
        let seat = |k: &SigningKey| PlayerSlot {
            public_key: k.verifying_key().to_bytes(),
            loadout: starter_loadout(),
        };
        let header = MatchHeader::new([3; 32], 7, Rules::default(), vec![seat(&other), seat(key)]);
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
            frame: 120,
            first: sign(chains[0]),
            second: sign(chains[1]),
        }
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
        // Moved to another frame, the signatures do not cover it.
        let mut moved = ev.clone();
        moved.frame = 121;
        assert_eq!(moved.check(), Err(EvidenceError::BadSignature));
        // The same offence at another frame, or the chains swapped, is one offence.
        let mut swapped = ev.clone();
        std::mem::swap(&mut swapped.first, &mut swapped.second);
        assert_eq!(swapped.offence(), ev.offence());
        assert!(Equivocation::decode(b"junk").is_err());
    }
}
