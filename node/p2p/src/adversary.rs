//! Players that misbehave on purpose, so that tests and the devnet can show
//! the others and the validators catching them. Compiled only with the
//! `adversary` feature, which the devnet and tests enable and nothing a
//! player or a volunteer runs does: the honest session and node call in
//! here at three marked points (`#[cfg(feature = "adversary")]`) and have no
//! cheat branch of their own.

use cyteria_game::Input;
use cyteria_game::transcript::{InputChain, Transcript};
use cyteria_game::verify::Outcome;
use libp2p::PeerId;

use crate::identity::Identity;
use crate::signing::sign_checkpoint;
use crate::wire::WireCheckpoint;

/// Ways a player can cheat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cheat {
    /// Send checkpoints whose signatures do not verify.
    BadSignatures,
    /// Sign a different input chain for the first other player than for the rest.
    Equivocate,
    /// After the match, change one of its own inputs in the transcript it
    /// stores and announces (the signatures then cover other inputs).
    ForgeInput,
    /// Announce more experience than the match gave.
    ClaimRewards,
    /// Send, besides its checkpoints, one it signed for frame `u32::MAX`
    /// (which, kept, would wait and be relayed for the rest of the match).
    FarCheckpoint,
}

/// How a player misbehaves: the default is not at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Adversary {
    /// The cheat it plays with.
    pub cheat: Option<Cheat>,
    /// Stop sending anything after this many frames and keep nothing, as a
    /// crashed node would.
    pub vanish_after: Option<u32>,
}

impl Adversary {
    /// A player that cheats with `cheat`.
    pub fn cheating(cheat: Cheat) -> Adversary {
        Adversary {
            cheat: Some(cheat),
            vanish_after: None,
        }
    }

    /// A player that vanishes at `frame`.
    pub fn vanishing_after(frame: u32) -> Adversary {
        Adversary {
            cheat: None,
            vanish_after: Some(frame),
        }
    }

    /// Whether the player is gone at `frame`.
    pub(crate) fn vanishes_at(&self, frame: u32) -> bool {
        self.vanish_after.is_some_and(|v| frame >= v)
    }

    /// The checkpoint each other player gets instead of the honest `cp`, or
    /// `None` to send the honest one to all (`digest`: the match header's).
    pub(crate) fn checkpoints(
        &self,
        identity: &Identity,
        digest: &[u8; 32],
        seat: u8,
        chain: &InputChain,
        cp: WireCheckpoint,
        others: &[PeerId],
    ) -> Option<Vec<(PeerId, WireCheckpoint)>> {
        match self.cheat? {
            Cheat::BadSignatures => {
                let mut bad = cp;
                bad.signature.0[7] ^= 0x20;
                Some(others.iter().map(|p| (*p, bad)).collect())
            }
            Cheat::Equivocate => {
                let mut other = *chain;
                other.head[0] ^= 1;
                let fake = sign_checkpoint(identity, digest, seat, &other);
                let victim = others.first().copied();
                Some(
                    others
                        .iter()
                        .map(|p| (*p, if Some(*p) == victim { fake } else { cp }))
                        .collect(),
                )
            }
            Cheat::FarCheckpoint => {
                let mut far = *chain;
                far.frame = u32::MAX;
                let far = sign_checkpoint(identity, digest, seat, &far);
                // every other checkpoint honest, this one far
                if chain.frame.is_multiple_of(120) {
                    Some(others.iter().map(|p| (*p, far)).collect())
                } else {
                    None
                }
            }
            Cheat::ForgeInput | Cheat::ClaimRewards => None,
        }
    }

    /// What the player announces after a match instead of the honest
    /// transcript and outcome.
    pub(crate) fn tamper(&self, t: &mut Transcript, outcome: &mut Outcome) {
        match self.cheat {
            Some(Cheat::ForgeInput) => {
                if let Some(i) = t.inputs.iter_mut().flat_map(|v| v.iter_mut()).next() {
                    i.0 ^= Input::UP;
                }
            }
            Some(Cheat::ClaimRewards) => outcome.players.iter_mut().for_each(|p| p.xp += 1000),
            _ => {}
        }
    }
}

/// The evidence against `id` in seat `seat` of `header` when it sends two
/// peers two different signed chains for frame `frame` (what
/// [`Cheat::Equivocate`] does in a live match), as the player that sees both
/// sends it to the validators.
pub fn equivocation(
    id: &Identity,
    header: &cyteria_game::transcript::MatchHeader,
    seat: u8,
    frame: u32,
) -> cyteria_settlement::evidence::Equivocation {
    let digest = header.digest();
    let mut chain = InputChain::new(&header.match_id, seat);
    for _ in 0..frame {
        chain.push(Input::default());
    }
    let mut other = chain;
    other.head[0] ^= 1;
    let honest = sign_checkpoint(id, &digest, seat, &chain);
    let fake = sign_checkpoint(id, &digest, seat, &other);
    crate::signing::Equivocation {
        match_id: header.match_id,
        header_digest: digest,
        public_key: id.public_key(),
        first: honest,
        second: fake,
    }
    .for_validators(header)
}

/// `t` cut at `frame`, a checkpoint every seat signed, with the cut's own
/// final checksum: what anyone holding a transcript can make. Every input
/// signature still holds; the end records are still the whole match's.
pub fn cut_at(t: &Transcript, frame: u32) -> Transcript {
    let mut cut = t.clone();
    for v in &mut cut.inputs {
        v.truncate(frame as usize);
    }
    for c in &mut cut.checkpoints {
        c.retain(|c| c.frame <= frame);
    }
    if let Ok(o) = cyteria_game::verify(&cut.header, &cut.inputs) {
        cut.final_checksum = o.final_checksum;
    }
    cut
}

/// A match played offline by the core's bot for `frames` frames at most
/// and signed by `keys` (one per seat, in the header's order): every
/// checkpoint and end record verifies. What a cheater with a fast CPU
/// makes instead of playing; only the header's provenance gives it away.
pub fn fabricate(
    keys: &[Identity],
    mut header: cyteria_game::transcript::MatchHeader,
    frames: u32,
) -> Transcript {
    use cyteria_game::transcript::SignedCheckpoint;
    for (slot, id) in header.players.iter_mut().zip(keys) {
        slot.public_key = id.public_key();
    }
    let (inputs, game) = cyteria_game::scenario::bot_match(&header, frames);
    let digest = header.digest();
    let played = inputs.first().map_or(0, |i| i.len() as u32);
    // Every 60 frames and at the end, as a live session signs them.
    let every = crate::signing::CHECKPOINT_EVERY;
    let checkpoints = keys
        .iter()
        .enumerate()
        .map(|(seat, id)| {
            let mut chain = InputChain::new(&header.match_id, seat as u8);
            let mut signed = vec![];
            for (f, i) in inputs[seat].iter().enumerate() {
                chain.push(*i);
                let frame = f as u32 + 1;
                if frame.is_multiple_of(every) || frame == played {
                    let w = sign_checkpoint(id, &digest, seat as u8, &chain);
                    signed.push(SignedCheckpoint {
                        frame: w.frame,
                        chain: w.chain,
                        signature: w.signature,
                    });
                }
            }
            signed
        })
        .collect();
    Transcript {
        ends: keys
            .iter()
            .map(|id| {
                Some(crate::signing::sign_end(
                    id,
                    &digest,
                    played,
                    crate::signing::END_FINISHED,
                    &game.checksum(),
                ))
            })
            .collect(),
        header,
        inputs,
        checkpoints,
        final_checksum: game.checksum(),
    }
}
