//! Signed inputs: each player signs checkpoints of the hash chain of its own
//! inputs. A checkpoint's signed message is domain-separated and bound to the
//! match (its header digest, which includes the match id and every seat's
//! key), the seat and the frame, so it cannot be replayed into another match,
//! another seat or another frame. Two valid signatures by one key over
//! different chains for the same (match, seat, frame) are equivocation.

use std::collections::BTreeMap;

use cyteria_game::Input;
use cyteria_game::transcript::{InputChain, MatchHeader, Signature, SignedCheckpoint, Transcript};
use serde::{Deserialize, Serialize};

use crate::identity::{Identity, verify};
use crate::wire::WireCheckpoint;

pub use cyteria_game::transcript::{CHECKPOINT_TAG, checkpoint_message};

/// Frames between the checkpoints a session signs by default (and at the
/// match's last frame).
pub const CHECKPOINT_EVERY: u32 = 60;

/// Signs, as `id` in `seat`, the checkpoint of `chain` at its current frame.
pub fn sign_checkpoint(
    id: &Identity,
    header_digest: &[u8; 32],
    seat: u8,
    chain: &InputChain,
) -> WireCheckpoint {
    let sig = id.sign(&checkpoint_message(
        header_digest,
        seat,
        chain.frame,
        &chain.head,
    ));
    WireCheckpoint {
        seat,
        frame: chain.frame,
        chain: chain.head,
        signature: Signature(sig),
    }
}

/// Whether `cp` is signed by the key of its seat in `header`.
pub fn checkpoint_signed(
    header: &MatchHeader,
    header_digest: &[u8; 32],
    cp: &WireCheckpoint,
) -> bool {
    let Some(slot) = header.players.get(cp.seat as usize) else {
        return false;
    };
    verify(
        &slot.public_key,
        &checkpoint_message(header_digest, cp.seat, cp.frame, &cp.chain),
        &cp.signature.0,
    )
}

/// Why a transcript's signatures do not hold.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The checkpoint lists or the input lists are not one per seat.
    #[error("one checkpoint list per seat is needed")]
    Missing,
    /// This seat signed no checkpoint at the transcript's last frame.
    #[error("seat {0}: no signature over the last frame")]
    Unsigned(usize),
    /// The recorded inputs are not the ones the player signed.
    #[error("seat {seat}: the inputs up to frame {frame} are not what the player signed")]
    ForgedInput {
        /// The seat whose inputs differ from its signed chain.
        seat: usize,
        /// The first frame that differs.
        frame: u32,
    },
    /// A checkpoint signature that does not verify.
    #[error("seat {seat}: bad signature at frame {frame}")]
    BadSignature {
        /// The seat.
        seat: usize,
        /// The checkpoint's frame.
        frame: u32,
    },
    /// No seat signed an end record: the match may be a prefix of one.
    #[error("no end record signed by the seats")]
    NoSignedEnd,
    /// This seat's end-record signature does not cover the transcript's
    /// last frame and final checksum.
    #[error("seat {0}: the end record it signed is not this transcript's end")]
    BadEnd(usize),
}

impl SignatureError {
    /// A short reason for metrics and logs ("unsigned", "forged input", "no signed end", …).
    pub fn label(&self) -> &'static str {
        match self {
            SignatureError::Missing | SignatureError::Unsigned(_) => "unsigned",
            SignatureError::ForgedInput { .. } => "forged input",
            SignatureError::BadSignature { .. } => "bad signature",
            SignatureError::NoSignedEnd => "no signed end",
            SignatureError::BadEnd(_) => "bad end record",
        }
    }
}

/// Checks every checkpoint of a transcript against its inputs: each chain
/// equal to the chain over the recorded inputs, each signed by its seat's
/// key. The signatures are checked together with ed25519 batch
/// verification; only when the batch fails are they checked one by one, to
/// name the culprit.
pub fn verify_transcript_signatures(
    header: &MatchHeader,
    inputs: &[Vec<Input>],
    checkpoints: &[Vec<SignedCheckpoint>],
) -> Result<(), SignatureError> {
    let digest = header.digest();
    if checkpoints.len() != header.players.len() || inputs.len() != header.players.len() {
        return Err(SignatureError::Missing);
    }
    let frames = inputs.first().map_or(0, |v| v.len() as u32);
    let mut signed: Vec<(usize, &SignedCheckpoint)> = vec![];
    for (seat, cps) in checkpoints.iter().enumerate() {
        if cps.last().map(|c| c.frame) != Some(frames) {
            return Err(SignatureError::Unsigned(seat));
        }
        let mut chain = InputChain::new(&header.match_id, seat as u8);
        let mut next = 0usize;
        for (f, input) in std::iter::once(None)
            .chain(inputs[seat].iter().map(Some))
            .enumerate()
        {
            if let Some(i) = input {
                chain.push(*i);
            }
            while next < cps.len() && cps[next].frame as usize == f {
                if cps[next].chain != chain.head {
                    return Err(SignatureError::ForgedInput {
                        seat,
                        frame: cps[next].frame,
                    });
                }
                signed.push((seat, &cps[next]));
                next += 1;
            }
        }
    }
    let messages: Vec<Vec<u8>> = signed
        .iter()
        .map(|(seat, cp)| checkpoint_message(&digest, *seat as u8, cp.frame, &cp.chain))
        .collect();
    let keys: Option<Vec<ed25519_dalek::VerifyingKey>> = signed
        .iter()
        .map(|(seat, _)| {
            ed25519_dalek::VerifyingKey::from_bytes(&header.players[*seat].public_key).ok()
        })
        .collect();
    let sigs: Vec<ed25519_dalek::Signature> = signed
        .iter()
        .map(|(_, cp)| ed25519_dalek::Signature::from_bytes(&cp.signature.0))
        .collect();
    let refs: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    if let Some(keys) = keys
        && ed25519_dalek::verify_batch(&refs, &sigs, &keys).is_ok()
    {
        return Ok(());
    }
    for ((seat, cp), m) in signed.iter().zip(&messages) {
        if !verify(&header.players[*seat].public_key, m, &cp.signature.0) {
            return Err(SignatureError::BadSignature {
                seat: *seat,
                frame: cp.frame,
            });
        }
    }
    Ok(())
}

pub use cyteria_game::transcript::{END_FINISHED, END_TAG, end_message, ending_left};

/// Signs, as `id`, the end record of a match that ended at `frame` with
/// `checksum`: [`END_FINISHED`], or the seats that left ([`ending_left`]).
pub fn sign_end(
    id: &Identity,
    header_digest: &[u8; 32],
    frame: u32,
    ending: u8,
    checksum: &cyteria_game::state::Checksum,
) -> Signature {
    Signature(id.sign(&end_message(header_digest, frame, ending, checksum)))
}

/// Whether `key` signed that end record.
pub fn end_signed(
    key: &[u8; 32],
    header_digest: &[u8; 32],
    frame: u32,
    ending: u8,
    checksum: &cyteria_game::state::Checksum,
    sig: &Signature,
) -> bool {
    verify(
        key,
        &end_message(header_digest, frame, ending, checksum),
        &sig.0,
    )
}

/// Checks the transcript's end record: every seat present at the end
/// signed that the match ended at its last frame with its final checksum,
/// and that the seats without a signature left. A transcript cut at a
/// checkpoint every seat signed (a prefix, with a checksum of the cutter's
/// choosing) has no such record; dropping a seat's signature changes the
/// record the others signed. A seat that left is credited only up to the
/// last frame, which its own checkpoints cover (the transcript's checkpoints
/// reach its last frame for every seat).
pub fn verify_end(t: &Transcript) -> Result<(), SignatureError> {
    if t.ends.is_empty() {
        return Err(SignatureError::NoSignedEnd);
    }
    if t.ends.len() != t.header.players.len() {
        return Err(SignatureError::Missing);
    }
    if t.ends.iter().all(Option::is_none) {
        return Err(SignatureError::NoSignedEnd);
    }
    let digest = t.header.digest();
    let ending = t.ending();
    for (seat, (slot, sig)) in t.header.players.iter().zip(&t.ends).enumerate() {
        let Some(sig) = sig else { continue };
        if !end_signed(
            &slot.public_key,
            &digest,
            t.frames(),
            ending,
            &t.final_checksum,
            sig,
        ) {
            return Err(SignatureError::BadEnd(seat));
        }
    }
    Ok(())
}

/// Proof that one key signed two different input chains for one frame.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equivocation {
    /// The match.
    pub match_id: [u8; 32],
    /// The digest of the match's header, which both signatures cover.
    pub header_digest: [u8; 32],
    /// The key that signed both.
    pub public_key: [u8; 32],
    /// The checkpoint seen first.
    pub first: WireCheckpoint,
    /// A checkpoint for the same seat and frame over a different chain.
    pub second: WireCheckpoint,
}

impl Equivocation {
    /// Anyone can check the proof with the header digest and the key alone.
    pub fn is_valid(&self) -> bool {
        let ok = |c: &WireCheckpoint| {
            verify(
                &self.public_key,
                &checkpoint_message(&self.header_digest, c.seat, c.frame, &c.chain),
                &c.signature.0,
            )
        };
        self.first.seat == self.second.seat
            && self.first.frame == self.second.frame
            && self.first.chain != self.second.chain
            && ok(&self.first)
            && ok(&self.second)
    }
}

impl Equivocation {
    /// The evidence as validators judge it, with the match's `header`
    /// (whose digest both signatures cover).
    pub fn for_validators(
        &self,
        header: &MatchHeader,
    ) -> cyteria_settlement::evidence::Equivocation {
        let signed = |c: &WireCheckpoint| cyteria_settlement::evidence::Signed {
            chain: c.chain,
            signature: c.signature,
        };
        cyteria_settlement::evidence::Equivocation {
            header: header.clone(),
            seat: self.first.seat,
            conflict: cyteria_settlement::evidence::Conflict::Checkpoints {
                frame: self.first.frame,
                first: signed(&self.first),
                second: signed(&self.second),
            },
        }
    }
}

/// What happened to a checkpoint offered to the book.
#[derive(Debug, PartialEq, Eq)]
pub enum Filed {
    /// Validly signed and not seen before: now in the book.
    New,
    /// The same chain for that seat and frame is already in the book.
    Duplicate,
    /// Not signed by its seat's key (or for no seat): refused.
    BadSignature,
    /// Validly signed, but over another chain than the one in the book: the proof.
    Equivocation(Box<Equivocation>),
}

/// Every valid checkpoint seen in one match, by (seat, frame).
#[derive(Debug)]
pub struct CheckpointBook {
    header: MatchHeader,
    digest: [u8; 32],
    seen: BTreeMap<(u8, u32), WireCheckpoint>,
}

impl CheckpointBook {
    /// An empty book for the match of `header`.
    pub fn new(header: MatchHeader) -> Self {
        let digest = header.digest();
        Self {
            header,
            digest,
            seen: BTreeMap::new(),
        }
    }

    /// The digest of the match's header, which checkpoint signatures cover.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Checks `cp`'s signature and keeps it when it is new.
    pub fn file(&mut self, cp: WireCheckpoint) -> Filed {
        if !checkpoint_signed(&self.header, &self.digest, &cp) {
            return Filed::BadSignature;
        }
        match self.seen.get(&(cp.seat, cp.frame)) {
            None => {
                self.seen.insert((cp.seat, cp.frame), cp);
                Filed::New
            }
            Some(old) if old.chain == cp.chain => Filed::Duplicate,
            Some(old) => Filed::Equivocation(Box::new(Equivocation {
                match_id: self.header.match_id,
                header_digest: self.digest,
                public_key: self.header.players[cp.seat as usize].public_key,
                first: *old,
                second: cp,
            })),
        }
    }

    /// The checkpoint kept for `seat` at `frame`, if any.
    pub fn get(&self, seat: u8, frame: u32) -> Option<&WireCheckpoint> {
        self.seen.get(&(seat, frame))
    }

    /// The checkpoints of `seat` up to `frame`, in order, as a transcript holds them.
    pub fn signed_up_to(&self, seat: u8, frame: u32) -> Vec<SignedCheckpoint> {
        self.seen
            .range((seat, 0)..=(seat, frame))
            .map(|(_, c)| SignedCheckpoint {
                frame: c.frame,
                chain: c.chain,
                signature: c.signature,
            })
            .collect()
    }

    /// The last frame every seat has signed a checkpoint for (at most `cap`).
    pub fn common_frame(&self, cap: u32) -> u32 {
        let seats = self.header.players.len() as u8;
        let frames_of = |s: u8| {
            self.seen
                .range((s, 0)..=(s, cap))
                .map(|(k, _)| k.1)
                .collect::<std::collections::BTreeSet<_>>()
        };
        let mut common = frames_of(0);
        for s in 1..seats {
            let f = frames_of(s);
            common.retain(|x| f.contains(x));
        }
        common.last().copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cyteria_game::transcript::PlayerSlot;
    use cyteria_game::{Rules, scenario};

    fn setup() -> (Vec<Identity>, MatchHeader) {
        let ids: Vec<Identity> = (0..2).map(|i| Identity::from_secret([i + 1; 32])).collect();
        let mut h = scenario::header(5, 2, Rules::default());
        h.players = ids
            .iter()
            .map(|i| PlayerSlot {
                public_key: i.public_key(),
                loadout: Default::default(),
                items: Default::default(),
            })
            .collect();
        (ids, h)
    }

    #[test]
    fn two_different_signed_chains_for_one_frame_are_kept_as_evidence() {
        let (ids, h) = setup();
        let mut book = CheckpointBook::new(h.clone());
        let mut a = InputChain::new(&h.match_id, 0);
        let mut b = a;
        a.push(Input(1));
        b.push(Input(2));
        let ca = sign_checkpoint(&ids[0], book.digest(), 0, &a);
        let cb = sign_checkpoint(&ids[0], book.digest(), 0, &b);
        assert_eq!(book.file(ca), Filed::New);
        assert_eq!(book.file(ca), Filed::Duplicate);
        let Filed::Equivocation(ev) = book.file(cb) else {
            panic!("equivocation not detected")
        };
        assert!(ev.is_valid());
        // Evidence cannot be made from one honest checkpoint twice or a forgery.
        let mut fake = (*ev).clone();
        fake.second = fake.first;
        assert!(!fake.is_valid());
    }

    #[test]
    fn a_signature_does_not_carry_to_another_seat_frame_or_match() {
        let (ids, h) = setup();
        let mut book = CheckpointBook::new(h.clone());
        let mut c = InputChain::new(&h.match_id, 0);
        c.push(Input(1));
        let cp = sign_checkpoint(&ids[0], book.digest(), 0, &c);
        assert_eq!(
            book.file(WireCheckpoint { seat: 1, ..cp }),
            Filed::BadSignature
        );
        assert_eq!(
            book.file(WireCheckpoint { frame: 2, ..cp }),
            Filed::BadSignature
        );
        let mut other = h.clone();
        other.match_id[0] ^= 1;
        assert_eq!(CheckpointBook::new(other).file(cp), Filed::BadSignature);
        // Signed by the wrong key for the seat.
        let forged = sign_checkpoint(&ids[1], book.digest(), 0, &c);
        assert_eq!(book.file(forged), Filed::BadSignature);
        assert_eq!(
            book.file(WireCheckpoint { seat: 9, ..cp }),
            Filed::BadSignature
        );
    }

    #[test]
    fn transcript_signatures_verify_and_a_changed_input_fails() {
        let (ids, h) = setup();
        let digest = h.digest();
        let inputs = scenario::scripted_inputs(5, 2, 130);
        let mut cps = vec![vec![], vec![]];
        for seat in 0..2u8 {
            let mut chain = InputChain::new(&h.match_id, seat);
            for (f, i) in inputs[seat as usize].iter().enumerate() {
                chain.push(*i);
                if (f + 1) % 60 == 0 || f + 1 == 130 {
                    let w = sign_checkpoint(&ids[seat as usize], &digest, seat, &chain);
                    cps[seat as usize].push(SignedCheckpoint {
                        frame: w.frame,
                        chain: w.chain,
                        signature: w.signature,
                    });
                }
            }
        }
        verify_transcript_signatures(&h, &inputs, &cps).unwrap();
        let mut forged = inputs.clone();
        forged[1][100] = Input(forged[1][100].0 ^ 1);
        assert!(verify_transcript_signatures(&h, &forged, &cps).is_err());
        let mut short = cps.clone();
        short[0].pop();
        assert!(verify_transcript_signatures(&h, &inputs, &short).is_err());
    }
}
